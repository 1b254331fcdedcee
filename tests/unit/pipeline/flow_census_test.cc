#include "pipeline/flow_census.h"

#include <gtest/gtest.h>

#include "harness.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

using namespace test;

// The harness's back-ends 1..3 count on slots 100..102.
FlowCounts sum_of_backends(const FlowCensus& census) {
  FlowCounts sum;
  for (uint32_t slot = 100; slot < 103; ++slot) sum += census.published(slot);
  return sum;
}

TEST(FlowCensus, CountsActiveAndInactiveFlowsOnTheirBackendsSlot) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  FlowCounts by_backend[4];
  for (uint16_t port = 1000; port < 1090; ++port) {
    ASSERT_EQ(h.run(*snap, client_segment(port, kTcpSyn)).verdict, Verdict::forward);
    const int backend = h.backend_of_output();
    if (port % 3 == 0) {  // a third are half-open
      ++by_backend[backend].inactive;
      continue;
    }
    h.run(*snap, client_segment(port, kTcpAck));  // established
    if (port % 3 == 1) {
      ++by_backend[backend].active;
    } else {
      h.run(*snap, client_segment(port, kTcpAck | kTcpFin));  // closing
      ++by_backend[backend].inactive;
    }
  }
  FlowCensus census;
  EXPECT_EQ(sum_of_backends(census).active, 0u);  // nothing published before a pass
  census.count(h.flows, *snap, h.ctx.now_ms, h.flows.bucket_count());
  EXPECT_EQ(census.passes(), 1u);
  for (int b = 1; b <= 3; ++b) {
    EXPECT_EQ(census.published(static_cast<uint32_t>(99 + b)).active, by_backend[b].active) << b;
    EXPECT_EQ(census.published(static_cast<uint32_t>(99 + b)).inactive, by_backend[b].inactive)
        << b;
  }
  EXPECT_EQ(sum_of_backends(census).active + sum_of_backends(census).inactive, 90u);
  EXPECT_EQ(census.published(kNoStatsSlot).active, 0u);
}

TEST(FlowCensus, UdpFlowsAreActiveAndExpiredFlowsGone) {
  Harness h;
  auto snap =
      make_snapshot({1, 1, 1}, ForwardingMode::nat, 1, MissingFlowPolicy::consistent, kProtoUdp);
  for (uint16_t port = 2000; port < 2020; ++port) h.run(*snap, client_datagram(port));
  FlowCensus census;
  census.count(h.flows, *snap, h.ctx.now_ms, h.flows.bucket_count());
  EXPECT_EQ(sum_of_backends(census).active, 20u);
  EXPECT_EQ(sum_of_backends(census).inactive, 0u);
  // A pass after the UDP timeout finds none: the published figures follow the table.
  census.count(h.flows, *snap, h.ctx.now_ms + snap->timeouts.udp_ms + 1, h.flows.bucket_count());
  EXPECT_EQ(sum_of_backends(census).active, 0u);
}

TEST(FlowCensus, StepsCoverTheTableOncePerPeriod) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  for (uint16_t port = 3000; port < 3010; ++port) {
    h.run(*snap, client_segment(port, kTcpSyn));
    h.run(*snap, client_segment(port, kTcpAck));
  }
  FlowCensus census;
  uint64_t now = 10'000;
  census.step(h.flows, *snap, now);  // starts the clock
  // Just under one period: not a whole pass yet (steps are bounded to kMaxBuckets each).
  for (uint64_t ms = 0; ms < FlowCensus::kPeriodMs - 200; ms += 10)
    census.step(h.flows, *snap, now += 10);
  EXPECT_EQ(census.passes(), 0u);
  for (uint64_t ms = 0; ms < 400; ms += 10) census.step(h.flows, *snap, now += 10);
  EXPECT_EQ(census.passes(), 1u);
  EXPECT_EQ(sum_of_backends(census).active, 10u);
}

// A worker that slept steps rarely; the steps after the gap catch up to a whole pass.
TEST(FlowCensus, StepsCatchUpAfterALongGap) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  for (uint16_t port = 3000; port < 3010; ++port) h.run(*snap, client_segment(port, kTcpSyn));
  FlowCensus census;
  uint64_t now = 10'000;
  census.step(h.flows, *snap, now);
  now += FlowCensus::kPeriodMs;
  census.step(h.flows, *snap, now);
  for (size_t calls = 0; census.behind(); ++calls) {
    ASSERT_LT(calls, 100'000u);
    census.step(h.flows, *snap, now);
  }
  EXPECT_EQ(census.passes(), 1u);
  EXPECT_EQ(sum_of_backends(census).inactive, 10u);
}

TEST(FlowCensus, FlowsOfABackendNoLongerInTheSnapshotCountNowhere) {
  Harness h;
  auto snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  for (uint16_t port = 4000; port < 4030; ++port) h.run(*snap, client_segment(port, kTcpSyn));
  auto fewer = make_snapshot({1, 1}, ForwardingMode::dsr, 2);  // back-end 3 gone
  FlowCensus census;
  census.count(h.flows, *fewer, h.ctx.now_ms, h.flows.bucket_count());
  EXPECT_EQ(census.published(102).inactive, 0u);
  EXPECT_GT(census.published(100).inactive + census.published(101).inactive, 0u);
  EXPECT_LT(census.published(100).inactive + census.published(101).inactive, 30u);
}

}  // namespace
}  // namespace fairway
