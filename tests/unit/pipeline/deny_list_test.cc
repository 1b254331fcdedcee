// Deny lists in the pipeline: global and per service, every packet from a denied client dropped
// and counted (drop reason and per-service counter), established flows included; others pass.
#include <gtest/gtest.h>

#include "harness.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

using namespace test;

struct DenyList : ::testing::Test {
  std::unique_ptr<Snapshot> snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  Harness h;
  ServiceCounters services;

  void SetUp() override {
    snap->services[0].stats_slot = 7;
    h.ctx.service_counters = &services;
  }
  FrameSpec from(const char* client, uint16_t port, uint8_t flags) {
    FrameSpec s = client_segment(port, flags);
    s.src = client;
    return s;
  }
};

TEST_F(DenyList, ServiceListDropsItsClientsOnly) {
  snap->services[0].deny_clients.add(*IpPrefix::parse("198.18.0.0/24"));
  snap->services[0].screens_clients = true;  // as the snapshot builder sets it
  Decision d = h.run(*snap, from("198.18.0.2", 1000, kTcpSyn));
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.reason, DropReason::denied_client);
  EXPECT_EQ(h.run(*snap, from("198.18.5.2", 1000, kTcpSyn)).verdict, Verdict::forward);
  EXPECT_EQ(services.get(7).denied, 1u);
  EXPECT_EQ(services.get(7).syns, 1u);  // the denied SYN is not counted as one served
  EXPECT_EQ(h.drops(DropReason::denied_client), 1u);
  EXPECT_EQ(h.counters.flows_created, 1u);
}

TEST_F(DenyList, GlobalListCutsEstablishedFlowsToo) {
  ASSERT_EQ(h.run(*snap, from("198.18.0.2", 1000, kTcpSyn)).verdict, Verdict::forward);
  ASSERT_EQ(h.run(*snap, from("198.18.0.2", 1000, kTcpAck)).verdict, Verdict::forward);
  auto denied = make_snapshot({1, 1, 1}, ForwardingMode::dsr, 2);
  denied->services[0].stats_slot = 7;
  denied->deny_clients.add(*IpPrefix::parse("198.18.0.2/32"));
  denied->services[0].screens_clients = true;
  EXPECT_EQ(h.run(*denied, from("198.18.0.2", 1000, kTcpAck)).reason, DropReason::denied_client);
  EXPECT_EQ(h.run(*denied, from("198.18.0.3", 1000, kTcpSyn)).verdict, Verdict::forward);
  // Taken off the list, the flow goes on from its entry.
  EXPECT_EQ(h.run(*snap, from("198.18.0.2", 1000, kTcpAck)).verdict, Verdict::forward);
  EXPECT_EQ(h.counters.flows_consistent, 0u);
  EXPECT_EQ(services.get(7).denied, 1u);
}

TEST_F(DenyList, SynsAndUntrackedFlowsCountPerService) {
  for (uint16_t port = 1; port <= 10; ++port) h.run(*snap, from("198.18.0.2", port, kTcpSyn));
  h.run(*snap, from("198.18.0.2", 1, kTcpAck));
  EXPECT_EQ(services.get(7).syns, 10u);
  EXPECT_EQ(services.get(7).flows_untracked, 0u);
  EXPECT_EQ(services.get(8).syns, 0u);
  EXPECT_EQ(services.get(kNoStatsSlot).syns, 0u);
}

}  // namespace
}  // namespace fairway
