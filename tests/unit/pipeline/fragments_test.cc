// Fragments in the pipeline: what it hands to the worker's reassembly table (Verdict::reassemble)
// and what it refuses first, by reason. The reassembly itself is DPDK's (tests/golden).
#include <gtest/gtest.h>

#include "harness.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

using namespace test;

FrameSpec later_fragment(uint16_t offset_units, size_t bytes) {
  FrameSpec s = client_segment(40000, 0);
  s.fragment_offset = offset_units;
  s.l4_header = false;
  s.payload.assign(bytes, 0x5a);
  return s;
}

struct Fragments : ::testing::Test {
  std::unique_ptr<Snapshot> snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  Harness h;
  void SetUp() override { snap->reassemble_fragments = true; }
};

TEST_F(Fragments, WithoutReassemblyTheyAreDroppedAsBefore) {
  snap->reassemble_fragments = false;
  EXPECT_EQ(h.run(*snap, later_fragment(100, 24)).reason, DropReason::fragment_to_service);
  FrameSpec first = client_segment(40000, kTcpSyn);
  first.more_fragments = true;
  EXPECT_EQ(h.run(*snap, first).reason, DropReason::fragment_to_service);
  EXPECT_EQ(h.counters.fragments_held, 0u);
}

TEST_F(Fragments, FirstAndLaterFragmentsToAServiceAreHeldWithoutAFlow) {
  FrameSpec first = client_segment(40000, kTcpSyn);
  first.more_fragments = true;
  first.payload.assign(64, 1);
  EXPECT_EQ(h.run(*snap, first).verdict, Verdict::reassemble);
  EXPECT_EQ(h.run(*snap, later_fragment(11, 40)).verdict, Verdict::reassemble);
  EXPECT_EQ(h.counters.fragments_held, 2u);
  EXPECT_EQ(h.counters.flows_created, 0u);  // the whole datagram makes the flow
  EXPECT_EQ(h.flows.size(), 0u);
}

TEST_F(Fragments, FirstFragmentToAPortWithoutServiceIsAnsweredAsBefore) {
  FrameSpec first = client_segment(40000, kTcpSyn);
  first.dst_port = 81;
  first.more_fragments = true;
  const Decision d = h.run(*snap, first);
  EXPECT_EQ(d.verdict, Verdict::forward);  // a reset
  EXPECT_EQ(h.counters.resets_sent, 1u);
  EXPECT_EQ(h.counters.fragments_held, 0u);
}

TEST_F(Fragments, WhatCanNeverMakeADatagramIsRefusedFirst) {
  EXPECT_EQ(h.run(*snap, later_fragment(8180, 200)).reason, DropReason::fragment_oversized);
  EXPECT_EQ(h.run(*snap, later_fragment(8100, 200)).verdict, Verdict::reassemble);
  EXPECT_EQ(h.run(*snap, later_fragment(10, 0)).reason, DropReason::fragment_invalid);
  snap->deny_clients.add(*IpPrefix::parse("198.18.0.2/32"));
  EXPECT_EQ(h.run(*snap, later_fragment(10, 16)).reason, DropReason::denied_client);
  EXPECT_EQ(h.counters.fragments_held, 1u);
}

TEST_F(Fragments, Ipv6FragmentHeaderMustFollowTheFixedHeader) {
  snap->address_roles[ip("2001:2:0:100::1")].vip = true;
  FrameSpec s = later_fragment(0, 16);
  s.src = "2001:2::2";
  s.dst = "2001:2:0:100::1";
  s.extensions = {fragment_header(10, true)};
  EXPECT_EQ(h.run(*snap, s).verdict, Verdict::reassemble);
  s.extensions = {hop_by_hop(), fragment_header(10, true)};
  EXPECT_EQ(h.run(*snap, s).reason, DropReason::fragment_unsupported);
}

TEST(FragmentsFromBackends, ANatBackendsFragmentsAreHeldOthersPassAsTransit) {
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::nat);
  snap->reassemble_fragments = true;
  Harness h;
  FrameSpec reply = backend_segment(1, 40000, kTcpAck);
  reply.fragment_offset = 50;
  reply.l4_header = false;
  reply.payload.assign(32, 7);
  // Not marked as a nat back-end's address: routed like any transit fragment.
  EXPECT_EQ(h.run(*snap, reply, 1).verdict, Verdict::forward);
  EXPECT_EQ(h.counters.transit_forwarded, 1u);
  snap->address_roles[ip("198.18.1.11")].nat_backend = true;
  EXPECT_EQ(h.run(*snap, reply, 1).verdict, Verdict::reassemble);
  EXPECT_EQ(h.counters.fragments_held, 1u);
}

}  // namespace
}  // namespace fairway
