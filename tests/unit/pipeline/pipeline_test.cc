// The pipeline's decisions over a hand-built snapshot: what the golden tests cannot easily show
// (snapshot changes under established flows, a full flow table, per-state expiry in the path).
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <map>

#include "harness.h"

namespace fairway {
namespace {

using namespace test;

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

TEST(PipelineTest, FullFlowTableForwardsNewFlowsUntrackedAndKeepsOldOnes) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  std::map<uint16_t, int> backend_of;
  uint16_t port = 1;
  // Established flows only (SYN then ACK): nothing may be evicted for a newcomer.
  while (h.counters.flows_untracked == 0) {
    ASSERT_EQ(h.run(*snap, client_segment(port, kTcpSyn)).verdict, Verdict::forward);
    backend_of[port] = h.backend_of_output();
    h.run(*snap, client_segment(port, kTcpAck));
    ++port;
    ASSERT_LT(port, 10000) << "a 1024-flow table never filled";
  }
  EXPECT_GE(h.flows.size(), 1024u);
  EXPECT_EQ(h.counters.flows_evicted_half_open + h.counters.flows_evicted_closing, 0u);
  // The untracked flow went to the Maglev choice, as an entry would have sent it.
  const uint16_t untracked = static_cast<uint16_t>(port - 1);
  Harness fresh;
  fresh.run(*snap, client_segment(untracked, kTcpSyn));
  EXPECT_EQ(backend_of[untracked], fresh.backend_of_output());
  // Every established flow still forwards to its back-end, from its entry.
  const uint64_t consistent = h.counters.flows_consistent;
  for (uint16_t p = 1; p < untracked; ++p) {
    ASSERT_EQ(h.run(*snap, client_segment(p, kTcpAck)).verdict, Verdict::forward);
    ASSERT_EQ(h.backend_of_output(), backend_of[p]) << "port " << p;
  }
  EXPECT_EQ(h.counters.flows_consistent, consistent);
  EXPECT_EQ(h.counters.drops[static_cast<size_t>(DropReason::service_without_backends)], 0u);
}

TEST(PipelineTest, SynFloodEvictsHalfOpenEntriesNotEstablishedOnes) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  // 300 real, established flows.
  for (uint16_t port = 1; port <= 300; ++port) {
    h.run(*snap, client_segment(port, kTcpSyn));
    h.run(*snap, client_segment(port, kTcpAck));
  }
  // A flood of 20 000 SYNs from other ports (never completed) overflows the 1024-flow table.
  for (uint32_t i = 0; i < 20000; ++i) {
    FrameSpec syn = client_segment(static_cast<uint16_t>(10000 + i % 50000), kTcpSyn);
    syn.src = "198.18.9." + std::to_string(i / 50000 + 1);
    ASSERT_EQ(h.run(*snap, syn).verdict, Verdict::forward);
  }
  EXPECT_GT(h.counters.flows_evicted_half_open, 10000u);
  EXPECT_EQ(h.counters.flows_untracked, 0u);
  EXPECT_TRUE(h.flows.under_pressure(h.ctx.now_ms));
  // Every real flow still has its entry.
  const uint64_t consistent = h.counters.flows_consistent;
  for (uint16_t port = 1; port <= 300; ++port) {
    ASSERT_EQ(h.run(*snap, client_segment(port, kTcpAck)).verdict, Verdict::forward);
  }
  EXPECT_EQ(h.counters.flows_consistent, consistent);
  // A real client's new SYN during the flood gets an entry and its ACK finds it.
  h.run(*snap, client_segment(400, kTcpSyn));
  h.run(*snap, client_segment(400, kTcpAck));
  EXPECT_EQ(h.counters.flows_consistent, consistent);
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
  Decision d = reply_worker.run(*snap, backend_segment(backend, 6000, kTcpSyn | kTcpAck), 1);
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
