// process_burst against process_frame: a burst overlaps its packets' lookups (prefetch lags, the
// candidate slot found ahead of the decision), so a flow created by one packet may be looked up by
// a later packet of the same burst whose candidate was computed before the insert. Whatever the
// burst boundaries, the decisions, the frames and the counters must be exactly those of deciding
// one frame at a time.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "harness.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

using namespace test;

struct Input {
  Bytes frame;
  uint16_t port;
};

// A few clients and ports, so that flows repeat within bursts; every kind of segment; replies
// from the back-ends; UDP; frames cut short; and enough distinct flows to fill a 1024-flow table.
std::vector<Input> traffic(uint32_t seed, size_t count, bool nat) {
  std::mt19937 random(seed);
  auto pick = [&](uint32_t n) { return static_cast<uint32_t>(random() % n); };
  const uint8_t kFlags[] = {
      kTcpSyn, kTcpAck, kTcpAck | kTcpPsh, kTcpFin | kTcpAck, kTcpRst, kTcpSyn | kTcpAck, 0};
  std::vector<Input> out;
  for (size_t i = 0; i < count; ++i) {
    const bool many_flows = pick(4) == 0;
    const uint16_t client_port =
        static_cast<uint16_t>(many_flows ? 1024 + pick(20000) : 40000 + pick(6));
    const std::string client = "198.18.0." + std::to_string(2 + pick(many_flows ? 200 : 2));
    FrameSpec s = client_segment(client_port, kFlags[pick(std::size(kFlags))]);
    s.src = client;
    s.seq = pick(100000);
    s.ack = pick(100000);
    uint16_t port = 0;
    switch (pick(8)) {
      case 0:  // a back-end's reply
        s.src_mac = backend_mac(1).bytes;
        s.dst_mac = kServerPortMac.bytes;
        s.src = "198.18.1.11";
        s.dst = client;
        s.src_port = nat ? 8080 : 80;
        s.dst_port = client_port;
        port = 1;
        break;
      case 1:
        s.protocol = kProtoUdp;
        s.payload = {1, 2, 3};
        break;
      case 2:
        s.payload = Bytes(pick(40), 0x61);
        break;
      default:
        break;
    }
    Bytes frame = build_frame(s);
    if (pick(50) == 0) frame.resize(pick(static_cast<uint32_t>(frame.size())));  // cut short
    out.push_back({frame, port});
  }
  return out;
}

struct Outcome {
  std::vector<Decision> decisions;
  std::vector<Bytes> frames;
  WorkerCounters counters;
};

bool same_decision(const Decision& a, const Decision& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// Bursts of random sizes, each from one port (a burst comes from one RX queue): consecutive inputs
// of the same port, cut at the drawn size. {first input, count}.
std::vector<std::pair<size_t, size_t>> plan_bursts(const std::vector<Input>& inputs,
                                                   uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<std::pair<size_t, size_t>> bursts;
  size_t next = 0;
  while (next < inputs.size()) {
    const size_t want = 1 + random() % kMaxBurst;
    const size_t first = next;
    while (next < inputs.size() && next - first < want && inputs[next].port == inputs[first].port) {
      ++next;
    }
    bursts.emplace_back(first, next - first);
  }
  return bursts;
}

// The worker's clock is read once per burst: both runs give every frame its burst's time, so that
// expiry and pressure see the same clock and only the burst's overlapping of lookups differs.
uint64_t time_of(size_t first_input) {
  return 1000 + 7 * first_input;
}

Outcome one_at_a_time(const Snapshot& snap, const std::vector<Input>& inputs,
                      const std::vector<std::pair<size_t, size_t>>& bursts) {
  Harness h;
  Outcome out;
  for (auto [first, count] : bursts) {
    h.ctx.now_ms = time_of(first);
    for (size_t i = first; i < first + count; ++i) {
      Bytes room = inputs[i].frame;
      room.resize(2048);
      const Decision d = process_frame(snap, h.ctx, inputs[i].port, room,
                                       static_cast<uint16_t>(inputs[i].frame.size()));
      out.decisions.push_back(d);
      out.frames.emplace_back(room.begin(), room.begin() + d.length);
    }
  }
  out.counters = h.counters;
  return out;
}

Outcome in_bursts(const Snapshot& snap, const std::vector<Input>& inputs,
                  const std::vector<std::pair<size_t, size_t>>& bursts) {
  Harness h;
  Outcome out;
  for (auto [first, count] : bursts) {
    h.ctx.now_ms = time_of(first);
    std::vector<Bytes> rooms;
    std::vector<FrameRef> refs;
    for (size_t i = first; i < first + count; ++i) {
      rooms.push_back(inputs[i].frame);
      rooms.back().resize(2048);
    }
    for (size_t i = 0; i < count; ++i) {
      refs.push_back({rooms[i], static_cast<uint16_t>(inputs[first + i].frame.size())});
    }
    Decision decisions[kMaxBurst];
    process_burst(snap, h.ctx, inputs[first].port, refs, decisions);
    for (size_t i = 0; i < count; ++i) {
      out.decisions.push_back(decisions[i]);
      out.frames.emplace_back(rooms[i].begin(), rooms[i].begin() + decisions[i].length);
    }
  }
  out.counters = h.counters;
  return out;
}

void expect_same(const Snapshot& snap, uint32_t seed) {
  const std::vector<Input> inputs =
      traffic(seed, 20000, snap.services[0].mode == ForwardingMode::nat);
  for (uint32_t burst_seed : {1u, 2u, 3u}) {
    const auto bursts = plan_bursts(inputs, burst_seed);
    const Outcome single = one_at_a_time(snap, inputs, bursts);
    const Outcome burst = in_bursts(snap, inputs, bursts);
    ASSERT_EQ(burst.decisions.size(), single.decisions.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      ASSERT_TRUE(same_decision(burst.decisions[i], single.decisions[i]))
          << "frame " << i << ": verdict " << int(burst.decisions[i].verdict) << " vs "
          << int(single.decisions[i].verdict) << ", reason "
          << drop_reason_name(burst.decisions[i].reason) << " vs "
          << drop_reason_name(single.decisions[i].reason);
      ASSERT_EQ(burst.frames[i], single.frames[i]) << "frame " << i;
    }
#define FAIRWAY_EXPECT_SAME_COUNTER(name) \
  EXPECT_EQ(burst.counters.name, single.counters.name) << #name;
    FAIRWAY_EVENT_COUNTERS(FAIRWAY_EXPECT_SAME_COUNTER)
#undef FAIRWAY_EXPECT_SAME_COUNTER
    for (size_t r = 0; r < kDropReasonCount; ++r) {
      EXPECT_EQ(burst.counters.drops[r], single.counters.drops[r])
          << drop_reason_name(static_cast<DropReason>(r));
    }
    // The table filled and turned over (a SYN proxy opens flows only on a good cookie: none here).
    if (snap.services[0].syn_proxy == SynProxyMode::off) {
      EXPECT_GT(single.counters.flows_created, 1000u);
      EXPECT_GT(single.counters.flows_evicted_half_open, 0u);
    } else {
      EXPECT_GT(single.counters.syn_cookies_sent, 1000u);
    }
  }
}

TEST(ProcessBurst, SameAsOneFrameAtATimeDsr) {
  expect_same(*make_snapshot({1, 2, 3}, ForwardingMode::dsr), 11);
}

TEST(ProcessBurst, SameAsOneFrameAtATimeNat) {
  expect_same(*make_snapshot({1, 2, 3}, ForwardingMode::nat), 12);
}

TEST(ProcessBurst, SameAsOneFrameAtATimeWithASynProxy) {
  auto snap = make_snapshot({1, 2, 3}, ForwardingMode::nat);
  snap->services[0].syn_proxy = SynProxyMode::always;
  expect_same(*snap, 13);
}

}  // namespace
}  // namespace fairway
