// Back-end and service states in the pipeline: per-back-end new-flow counters, back-ends that go
// down under the keep and reset policies, and services kept only for their existing flows.
#include <gtest/gtest.h>

#include "harness.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

using namespace test;

// The back-end (1-based) of `h`'s flow from client port `port`, or 0 when it has none.
int flow_backend(Harness& h, uint16_t port, uint8_t protocol = kProtoTcp) {
  FlowKey key{ip("198.18.0.2"), ip("198.18.100.1"), port, 80, protocol};
  const FlowValue* flow = h.flows.lookup(key, flow_hash(key), h.ctx.now_ms);
  if (flow == nullptr) return 0;
  for (int i = 1; i <= 3; ++i) {
    if (flow->backend == ip("198.18.1." + std::to_string(10 + i))) return i;
  }
  return -1;
}

// Whether the last output is a TCP reset sent back to the client.
bool output_is_reset_to_client(const Harness& h) {
  ParsedPacket out;
  if (parse_frame(h.last_output, out) != DropReason::none) return false;
  return out.l4_protocol == kProtoTcp && (out.tcp_flags & kTcpRst) && out.dst == ip("198.18.0.2") &&
         out.src == ip("198.18.100.1");
}

// Back-end `down` (1-based) is marked down and out of Maglev; the service's policy is `policy`.
std::unique_ptr<Snapshot> with_backend_down(int down, BackendDownPolicy policy,
                                            uint8_t protocol = kProtoTcp) {
  std::vector<uint32_t> weights = {1, 1, 1};
  weights[down - 1] = 0;
  auto snap =
      make_snapshot(weights, ForwardingMode::dsr, 2, MissingFlowPolicy::consistent, protocol);
  Service& s = snap->services[0];
  s.backends[down - 1].up = false;
  s.on_backend_down = policy;
  s.resets_flows = policy == BackendDownPolicy::reset;  // as the snapshot builder computes it
  return snap;
}

TEST(BackendCounters, NewFlowsCountOnTheirBackendsSlot) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  uint64_t per_backend[4] = {};
  for (uint16_t port = 1000; port < 1300; ++port) {
    ASSERT_EQ(h.run(*snap, client_segment(port, kTcpSyn)).verdict, Verdict::forward);
    ++per_backend[h.backend_of_output()];
    h.run(*snap, client_segment(port, kTcpAck));  // the same flow: not counted again
  }
  ASSERT_EQ(per_backend[0], 0u);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_GT(per_backend[i], 0u);
    EXPECT_EQ(h.backend_counters.get(99 + i).flows_created, per_backend[i]) << "back-end " << i;
  }
  EXPECT_EQ(h.counters.flows_created, 300u);
  // Only the three slots moved.
  uint64_t total = 0;
  for (const BackendTraffic& t : h.backend_counters.slots) total += t.flows_created;
  EXPECT_EQ(total, 300u);
}

TEST(BackendCounters, TrafficCountsBothWaysOnTheBackendsSlot) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::nat);
  ASSERT_EQ(h.run(*snap, client_segment(7000, kTcpSyn)).verdict, Verdict::forward);
  const int backend = h.backend_of_output();
  ASSERT_NE(backend, 0);
  const size_t in_length = h.last_output.size();
  FrameSpec data = client_segment(7000, kTcpAck);
  data.payload.assign(100, 0x61);
  ASSERT_EQ(h.run(*snap, data).verdict, Verdict::forward);
  const size_t data_length = h.last_output.size();
  FrameSpec reply = backend_segment(backend, 7000, kTcpAck);
  reply.payload.assign(300, 0x62);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(h.run(*snap, reply, 1).verdict, Verdict::forward);
  const size_t out_length = h.last_output.size();

  const BackendTraffic t = h.backend_counters.get(static_cast<uint32_t>(99 + backend));
  EXPECT_EQ(t.flows_created, 1u);
  EXPECT_EQ(t.packets_in, 2u);
  EXPECT_EQ(t.bytes_in, in_length + data_length);
  EXPECT_EQ(t.packets_out, 3u);
  EXPECT_EQ(t.bytes_out, 3 * out_length);
  EXPECT_EQ(t.flows_reset, 0u);
  // Nothing on the other back-ends' slots.
  for (uint32_t slot = 100; slot < 103; ++slot) {
    if (slot == static_cast<uint32_t>(99 + backend)) continue;
    EXPECT_EQ(h.backend_counters.get(slot).packets_in + h.backend_counters.get(slot).packets_out,
              0u);
  }
}

TEST(BackendCounters, DsrCountsWhatGoesToTheBackend) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  uint64_t packets = 0, bytes = 0;
  for (uint16_t port = 1000; port < 1050; ++port) {
    for (uint8_t flags : {kTcpSyn, kTcpAck, static_cast<uint8_t>(kTcpAck | kTcpFin)}) {
      ASSERT_EQ(h.run(*snap, client_segment(port, flags)).verdict, Verdict::forward);
      ++packets;
      bytes += h.last_output.size();
    }
  }
  BackendTraffic sum;
  for (uint32_t slot = 100; slot < 103; ++slot) sum += h.backend_counters.get(slot);
  EXPECT_EQ(sum.packets_in, packets);
  EXPECT_EQ(sum.bytes_in, bytes);
  EXPECT_EQ(sum.flows_created, 50u);
  EXPECT_EQ(sum.packets_out, 0u);  // dsr replies never pass through
  EXPECT_EQ(h.counters.dsr_forwarded, packets);
}

TEST(BackendCounters, UdpFlowsAndConsistentTcpMissesCountToo) {
  Harness h;
  auto udp =
      make_snapshot({1, 1, 1}, ForwardingMode::nat, 1, MissingFlowPolicy::consistent, kProtoUdp);
  for (uint16_t port = 1000; port < 1030; ++port) {
    ASSERT_EQ(h.run(*udp, client_datagram(port)).verdict, Verdict::forward);
    h.run(*udp, client_datagram(port));
  }
  auto tcp = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  h.run(*tcp, client_segment(2000, kTcpAck));  // no SYN, no flow: the Maglev choice, a new flow
  EXPECT_EQ(h.counters.flows_consistent, 1u);
  uint64_t total = 0;
  for (uint32_t slot = 100; slot < 103; ++slot) total += h.backend_counters.get(slot).flows_created;
  EXPECT_EQ(total, 31u);
  EXPECT_EQ(h.counters.flows_created, 31u);
}

TEST(BackendCounters, InvalidSlotsAndNoCountersCountNothing) {
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  snap->services[0].backends[0].stats_slot = kNoStatsSlot;
  snap->services[0].backends[1].stats_slot = kBackendStatsSlots;  // out of range
  snap->services[0].backends[2].stats_slot = kBackendStatsSlots - 1;
  Harness h;
  for (uint16_t port = 1000; port < 1100; ++port) h.run(*snap, client_segment(port, kTcpSyn));
  uint64_t total = 0;
  for (const BackendTraffic& t : h.backend_counters.slots) total += t.flows_created;
  EXPECT_EQ(total, h.backend_counters.get(kBackendStatsSlots - 1).flows_created);
  EXPECT_GT(total, 0u);
  EXPECT_EQ(h.backend_counters.get(kNoStatsSlot).flows_created, 0u);

  Harness without;  // a pipeline without back-end counters (fairway-sim)
  without.ctx.backend_counters = nullptr;
  EXPECT_EQ(without.run(*snap, client_segment(1000, kTcpSyn)).verdict, Verdict::forward);
  EXPECT_EQ(without.counters.flows_created, 1u);
}

TEST(RetiredService, ExistingFlowsForwardNewOnesAreRefused) {
  Harness h;
  auto live = make_snapshot({1, 1, 1}, ForwardingMode::dsr, 1);
  ASSERT_EQ(h.run(*live, client_segment(1000, kTcpSyn)).verdict, Verdict::forward);
  const int backend = h.backend_of_output();
  auto retired = make_snapshot({1, 1, 1}, ForwardingMode::dsr, 2);
  retired->services[0].accepting = false;

  // The existing flow goes on to its back-end.
  ASSERT_EQ(h.run(*retired, client_segment(1000, kTcpAck)).verdict, Verdict::forward);
  EXPECT_EQ(h.backend_of_output(), backend);
  EXPECT_EQ(h.counters.dsr_forwarded, 2u);

  // A SYN gets the reset of a service that does not exist, and no flow.
  Decision d = h.run(*retired, client_segment(1001, kTcpSyn));
  EXPECT_EQ(d.verdict, Verdict::forward);
  EXPECT_EQ(d.port, 0);
  EXPECT_TRUE(output_is_reset_to_client(h));
  EXPECT_EQ(flow_backend(h, 1001), 0);
  // So does a segment without SYN that the consistent policy would otherwise schedule.
  d = h.run(*retired, client_segment(1002, kTcpAck));
  EXPECT_EQ(d.port, 0);
  EXPECT_TRUE(output_is_reset_to_client(h));
  EXPECT_EQ(h.counters.resets_sent, 2u);
  EXPECT_EQ(h.counters.flows_consistent, 0u);
  EXPECT_EQ(h.counters.flows_created, 1u);
}

TEST(RetiredService, NewUdpFlowsAreUnservedUdp) {
  Harness h;
  auto live =
      make_snapshot({1, 1, 1}, ForwardingMode::dsr, 1, MissingFlowPolicy::consistent, kProtoUdp);
  ASSERT_EQ(h.run(*live, client_datagram(1000)).verdict, Verdict::forward);
  auto retired =
      make_snapshot({1, 1, 1}, ForwardingMode::dsr, 2, MissingFlowPolicy::consistent, kProtoUdp);
  retired->services[0].accepting = false;
  EXPECT_EQ(h.run(*retired, client_datagram(1000)).verdict, Verdict::forward);
  EXPECT_EQ(h.run(*retired, client_datagram(1001)).reason, DropReason::unserved_udp);
  EXPECT_EQ(h.drops(DropReason::unserved_udp), 1u);
  retired->udp_port_unreachable = true;
  Decision d = h.run(*retired, client_datagram(1002));
  EXPECT_EQ(d.verdict, Verdict::forward);
  EXPECT_EQ(d.port, 0);
  EXPECT_EQ(h.counters.port_unreachables, 1u);
  EXPECT_EQ(h.counters.flows_created, 1u);
}

// Establishes TCP flows from ports [first, first + count) on `h`; returns port -> back-end.
std::map<uint16_t, int> establish(Harness& h, const Snapshot& snap, uint16_t first, int count) {
  std::map<uint16_t, int> chosen;
  for (uint16_t port = first; port < first + count; ++port) {
    EXPECT_EQ(h.run(snap, client_segment(port, kTcpSyn)).verdict, Verdict::forward);
    chosen[port] = h.backend_of_output();
    h.run(snap, client_segment(port, kTcpAck));
  }
  return chosen;
}

TEST(BackendDown, ResetPolicyResetsItsTcpFlowsAndKeepsTheOthers) {
  Harness h;
  auto healthy = make_snapshot({1, 1, 1}, ForwardingMode::dsr, 1);
  const std::map<uint16_t, int> chosen = establish(h, *healthy, 1000, 120);
  auto down = with_backend_down(1, BackendDownPolicy::reset);
  const uint64_t resets_before = h.counters.resets_sent;
  uint64_t on_down = 0;
  for (auto [port, backend] : chosen) {
    Decision d = h.run(*down, client_segment(port, kTcpAck | kTcpPsh));
    ASSERT_EQ(d.verdict, Verdict::forward);
    if (backend == 1) {
      ++on_down;
      EXPECT_EQ(d.port, 0);
      EXPECT_TRUE(output_is_reset_to_client(h)) << "port " << port;
      EXPECT_EQ(flow_backend(h, port), 0) << "the flow outlived its reset";
    } else {
      EXPECT_EQ(h.backend_of_output(), backend);
      EXPECT_EQ(flow_backend(h, port), backend);
    }
  }
  ASSERT_GT(on_down, 0u);
  EXPECT_EQ(h.counters.flows_reset_backend_down, on_down);
  EXPECT_EQ(h.counters.resets_sent - resets_before, on_down);
  // A retransmission after the reset finds no flow: the consistent policy picks a back-end up.
  for (auto [port, backend] : chosen) {
    if (backend != 1) continue;
    h.run(*down, client_segment(port, kTcpAck));
    EXPECT_NE(h.backend_of_output(), 1);
  }
  EXPECT_EQ(h.counters.flows_reset_backend_down, on_down);
}

TEST(BackendDown, ResetPolicyReschedulesASynAndAnswersNoReset) {
  Harness h;
  auto healthy = make_snapshot({1, 1, 1}, ForwardingMode::dsr, 1);
  const std::map<uint16_t, int> chosen = establish(h, *healthy, 1000, 60);
  auto down = with_backend_down(2, BackendDownPolicy::reset);
  for (auto [port, backend] : chosen) {
    // A SYN on the 5-tuple of a flow to the down back-end is a new connection: rescheduled.
    ASSERT_EQ(h.run(*down, client_segment(port, kTcpSyn)).verdict, Verdict::forward);
    EXPECT_NE(h.backend_of_output(), 2);
    if (backend != 2) {
      EXPECT_EQ(h.backend_of_output(), backend);
    }
  }
  EXPECT_EQ(h.counters.resets_sent, 0u);
  // And an RST from the client ends the flow without an answer.
  auto chosen2 = establish(h, *healthy, 2000, 30);
  for (auto [port, backend] : chosen2) {
    Decision d = h.run(*down, client_segment(port, kTcpRst));
    if (backend == 2) {
      EXPECT_EQ(d.reason, DropReason::reset_not_answered);
    }
  }
}

TEST(BackendDown, KeepPolicyForwardsExistingFlows) {
  Harness h;
  auto healthy = make_snapshot({1, 1, 1}, ForwardingMode::dsr, 1);
  const std::map<uint16_t, int> chosen = establish(h, *healthy, 1000, 120);
  auto down = with_backend_down(1, BackendDownPolicy::keep);
  ASSERT_FALSE(down->services[0].resets_flows);
  for (auto [port, backend] : chosen) {
    ASSERT_EQ(h.run(*down, client_segment(port, kTcpAck)).verdict, Verdict::forward);
    EXPECT_EQ(h.backend_of_output(), backend);
  }
  EXPECT_EQ(h.counters.flows_reset_backend_down, 0u);
  for (uint16_t port = 3000; port < 3100; ++port) {  // new flows avoid it (weight 0)
    h.run(*down, client_segment(port, kTcpSyn));
    EXPECT_NE(h.backend_of_output(), 1);
  }
}

TEST(BackendDown, UdpFlowsOfADownBackendAreRescheduled) {
  Harness h;
  auto healthy =
      make_snapshot({1, 1, 1}, ForwardingMode::dsr, 1, MissingFlowPolicy::consistent, kProtoUdp);
  std::map<uint16_t, int> chosen;
  for (uint16_t port = 1000; port < 1120; ++port) {
    ASSERT_EQ(h.run(*healthy, client_datagram(port)).verdict, Verdict::forward);
    chosen[port] = h.backend_of_output();
  }
  const uint64_t created_before = h.counters.flows_created;
  const uint64_t slot_before =
      h.backend_counters.get(101).flows_created + h.backend_counters.get(102).flows_created;
  auto down = with_backend_down(1, BackendDownPolicy::reset, kProtoUdp);
  uint64_t on_down = 0;
  for (auto [port, backend] : chosen) {
    ASSERT_EQ(h.run(*down, client_datagram(port)).verdict, Verdict::forward);
    const int now = h.backend_of_output();
    if (backend == 1) {
      ++on_down;
      EXPECT_NE(now, 1);
      EXPECT_EQ(flow_backend(h, port, kProtoUdp), now) << "the new flow was not stored";
    } else {
      EXPECT_EQ(now, backend);
    }
  }
  ASSERT_GT(on_down, 0u);
  EXPECT_EQ(h.counters.flows_reset_backend_down, on_down);
  EXPECT_EQ(h.counters.flows_created - created_before, on_down);
  EXPECT_EQ(h.backend_counters.get(101).flows_created + h.backend_counters.get(102).flows_created -
                slot_before,
            on_down);
  EXPECT_EQ(h.backend_counters.get(100).flows_reset, on_down);  // counted on the down back-end
  EXPECT_EQ(h.counters.resets_sent + h.counters.port_unreachables, 0u);
  // Rescheduled once: the next datagram stays where it went.
  for (auto [port, backend] : chosen) h.run(*down, client_datagram(port));
  EXPECT_EQ(h.counters.flows_reset_backend_down, on_down);
}

TEST(BackendDown, RemovedBackendKeepsItsFlowsAndGetsNoNewOnes) {
  Harness h;
  auto healthy = make_snapshot({1, 1, 1}, ForwardingMode::nat, 1);
  const std::map<uint16_t, int> chosen = establish(h, *healthy, 1000, 120);
  auto removed = make_snapshot({1, 0, 1}, ForwardingMode::nat, 2);
  removed->services[0].backends[1].removed = true;
  removed->services[0].on_backend_down = BackendDownPolicy::reset;
  for (auto [port, backend] : chosen) {
    ASSERT_EQ(h.run(*removed, client_segment(port, kTcpAck)).verdict, Verdict::forward);
    EXPECT_EQ(h.backend_of_output(), backend);
  }
  for (uint16_t port = 3000; port < 3100; ++port) {
    h.run(*removed, client_segment(port, kTcpSyn));
    EXPECT_NE(h.backend_of_output(), 2);
  }
  EXPECT_EQ(h.counters.flows_reset_backend_down, 0u);
}

}  // namespace
}  // namespace fairway
