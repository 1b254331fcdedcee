// The pipeline's decisions over a hand-built snapshot: what the golden tests cannot easily show
// (snapshot changes under established flows, a full flow table, per-state expiry in the path).
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include "../packet/frame_builder.h"
#include "lb/maglev.h"

namespace fairway {
namespace {

using test::Bytes;
using test::FrameSpec;

const MacAddress kClientPortMac{{2, 0, 0, 0, 0, 1}};
const MacAddress kServerPortMac{{2, 0, 0, 0, 1, 1}};
const MacAddress kClientMac{{2, 0, 0, 0, 0, 2}};

MacAddress backend_mac(int i) { return MacAddress{{2, 0, 0, 0, 1, static_cast<uint8_t>(10 + i)}}; }

// Two ports, three back-ends 198.18.1.11-13 on the server port, one service.
std::unique_ptr<Snapshot> make_snapshot(std::vector<uint32_t> weights, ForwardingMode mode,
                                        uint64_t version = 1,
                                        MissingFlowPolicy policy = MissingFlowPolicy::consistent) {
  auto snap = std::make_unique<Snapshot>();
  snap->version = version;
  snap->ports = {{"client", kClientPortMac, false}, {"server", kServerPortMac, false}};
  Service s;
  s.name = "web";
  s.vip = test::ip("198.18.100.1");
  s.port = 80;
  s.protocol = kProtoTcp;
  s.mode = mode;
  s.missing_flow = policy;
  std::vector<std::string> keys;
  for (size_t i = 0; i < weights.size(); ++i) {
    IpAddress a = test::ip("198.18.1." + std::to_string(11 + i));
    s.backends.push_back({a, static_cast<uint16_t>(mode == ForwardingMode::nat ? 8080 : 80),
                          weights[i]});
    keys.push_back(a.to_string());
    snap->neighbors[a] = Neighbor{backend_mac(static_cast<int>(i) + 1), 1};
  }
  std::vector<MaglevBackend> input;
  for (size_t i = 0; i < keys.size(); ++i) input.push_back({keys[i], weights[i]});
  s.maglev = build_maglev_table(input, 65537);
  snap->services.push_back(s);
  snap->service_by_endpoint[Endpoint{s.vip, 80, kProtoTcp}] = 0;
  snap->address_roles[s.vip].vip = true;
  if (mode == ForwardingMode::nat) {
    for (const Backend& b : s.backends) {
      snap->nat_service_by_backend[Endpoint{b.address, b.port, kProtoTcp}] = 0;
    }
  }
  snap->routes = {{*IpPrefix::parse("198.18.1.0/24"), 1, false, {}},
                  {*IpPrefix::parse("198.18.0.0/24"), 0, false, {}}};
  snap->neighbors[test::ip("198.18.0.2")] = Neighbor{kClientMac, 0};
  return snap;
}

FrameSpec client_segment(uint16_t src_port, uint8_t flags) {
  FrameSpec s;
  s.src_mac = kClientMac.bytes;
  s.dst_mac = kClientPortMac.bytes;
  s.src = "198.18.0.2";
  s.dst = "198.18.100.1";
  s.src_port = src_port;
  s.dst_port = 80;
  s.tcp_flags = flags;
  s.ack = (flags & kTcpAck) ? 1 : 0;
  return s;
}

struct Harness {
  FlowTable flows{1024};
  WorkerCounters counters;
  PipelineContext ctx{flows, counters, 1000};
  Bytes last_output;

  Decision run(const Snapshot& snap, const FrameSpec& spec, uint16_t in_port = 0) {
    Bytes frame = test::build_frame(spec);
    uint16_t length = static_cast<uint16_t>(frame.size());
    frame.resize(2048);
    Decision d = process_frame(snap, ctx, in_port, frame, length);
    last_output.assign(frame.begin(), frame.begin() + d.length);
    return d;
  }
  // Which back-end (1-based) a forwarded frame went to, by its destination MAC.
  int backend_of_output() const {
    for (int i = 1; i <= 3; ++i) {
      if (std::equal(last_output.begin(), last_output.begin() + 6, backend_mac(i).bytes.begin())) {
        return i;
      }
    }
    return 0;
  }
};

TEST(PipelineTest, EstablishedFlowsKeepTheirBackendWhenWeightsChange) {
  Harness h;
  auto before = make_snapshot({1, 1, 1}, ForwardingMode::dsr, 1);
  std::map<uint16_t, int> chosen;
  for (uint16_t port = 1000; port < 1300; ++port) {
    ASSERT_EQ(h.run(*before, client_segment(port, kTcpSyn)).verdict, Verdict::forward);
    chosen[port] = h.backend_of_output();
  }
  // Back-end 1 gets weight 0 in the next snapshot: its flows stay, new flows avoid it.
  auto after = make_snapshot({0, 1, 1}, ForwardingMode::dsr, 2);
  int moved = 0;
  for (auto [port, backend] : chosen) {
    ASSERT_EQ(h.run(*after, client_segment(port, kTcpAck)).verdict, Verdict::forward);
    moved += h.backend_of_output() != backend;
  }
  EXPECT_EQ(moved, 0);
  for (uint16_t port = 2000; port < 2100; ++port) {
    h.run(*after, client_segment(port, kTcpSyn));
    EXPECT_NE(h.backend_of_output(), 1) << "new flow sent to a weight-0 back-end";
  }
}

TEST(PipelineTest, FullFlowTableRefusesNewFlowsAndKeepsOldOnes) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  uint16_t port = 1;
  while (h.counters.drops[static_cast<size_t>(DropReason::flow_table_full)] == 0) {
    h.run(*snap, client_segment(port++, kTcpSyn));
    ASSERT_LT(port, 10000) << "a 1024-flow table never filled";
  }
  EXPECT_GE(h.flows.size(), 1024u);
  // Every flow admitted before the table filled still forwards (none was evicted).
  uint64_t forwarded_before = h.counters.dsr_forwarded;
  for (uint16_t p = 1; p < port - 1; ++p) h.run(*snap, client_segment(p, kTcpAck));
  EXPECT_EQ(h.counters.dsr_forwarded - forwarded_before, static_cast<uint64_t>(port - 2));
  EXPECT_EQ(h.counters.flows_consistent, 0u);
}

TEST(PipelineTest, ExpiredSynFlowIsForgottenAndStrictServiceResets) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr, 1, MissingFlowPolicy::strict);
  ASSERT_EQ(h.run(*snap, client_segment(5000, kTcpSyn)).verdict, Verdict::forward);
  ASSERT_EQ(h.run(*snap, client_segment(5000, kTcpAck)).verdict, Verdict::forward);
  h.ctx.now_ms += snap->timeouts.tcp_established_ms + 1;
  Decision d = h.run(*snap, client_segment(5000, kTcpAck));
  EXPECT_EQ(d.verdict, Verdict::forward);  // the reset goes back out of the client port
  EXPECT_EQ(d.port, 0);
  EXPECT_EQ(h.counters.resets_sent, 1u);
  EXPECT_EQ(h.counters.drops[static_cast<size_t>(DropReason::strict_no_flow)], 1u);
}

TEST(PipelineTest, NatRepliesAreReversedFromTheSnapshotAlone) {
  Harness forward_worker;
  Harness reply_worker;  // another worker: it never saw the flow
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::nat);
  ASSERT_EQ(forward_worker.run(*snap, client_segment(6000, kTcpSyn)).verdict, Verdict::forward);
  int backend = forward_worker.backend_of_output();
  ASSERT_NE(backend, 0);
  FrameSpec reply;
  reply.src_mac = backend_mac(backend).bytes;
  reply.dst_mac = kServerPortMac.bytes;
  reply.src = "198.18.1." + std::to_string(10 + backend);
  reply.dst = "198.18.0.2";
  reply.src_port = 8080;
  reply.dst_port = 6000;
  reply.tcp_flags = kTcpSyn | kTcpAck;
  Decision d = reply_worker.run(*snap, reply, 1);
  ASSERT_EQ(d.verdict, Verdict::forward);
  EXPECT_EQ(d.port, 0);
  ParsedPacket out;
  ASSERT_EQ(parse_frame(reply_worker.last_output, out), DropReason::none);
  EXPECT_EQ(out.src, test::ip("198.18.100.1"));
  EXPECT_EQ(out.src_port, 80);
  EXPECT_EQ(out.hop_limit, 63);
  EXPECT_EQ(reply_worker.counters.nat_reversed, 1u);
}

TEST(PipelineTest, UnicastFrameForAnotherMacIsDropped) {
  Harness h;
  auto snap = make_snapshot({1}, ForwardingMode::dsr);
  FrameSpec spec = client_segment(7000, kTcpSyn);
  spec.dst_mac = {2, 9, 9, 9, 9, 9};
  EXPECT_EQ(h.run(*snap, spec).reason, DropReason::not_for_us);
}

}  // namespace
}  // namespace fairway
