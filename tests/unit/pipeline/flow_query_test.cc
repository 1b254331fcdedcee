// Flow queries: the filter, a worker answering in bounded steps, and the mailbox protocol.
#include "pipeline/flow_query.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../packet/frame_builder.h"

namespace fairway {
namespace {

using test::ip;

constexpr uint64_t kNow = 1'000;

// Client 10.0.(i / 256).(i % 256):(1000 + i) to one of two services, on one of three back-ends.
struct Flow {
  FlowKey key;
  FlowValue value;
};
Flow make_flow(uint32_t i) {
  Flow f;
  const uint8_t client[4] = {10, 0, uint8_t(i >> 8), uint8_t(i)};
  f.key.src = IpAddress::from_v4(client);
  f.key.dst = i % 2 ? ip("198.18.100.2") : ip("198.18.100.1");
  f.key.src_port = static_cast<uint16_t>(1000 + i);
  f.key.dst_port = i % 5 == 0 ? 443 : 80;
  f.key.protocol = i % 7 == 0 ? kProtoUdp : kProtoTcp;
  f.value.backend = ip("198.18.1." + std::to_string(11 + i % 3));
  f.value.backend_port = i % 3 == 2 ? 8080 : 80;
  f.value.expires_at_ms = static_cast<uint32_t>(kNow + 10 + i);
  return f;
}

void fill(FlowTable& table, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    Flow f = make_flow(i);
    ASSERT_NE(table.insert(f.key, flow_hash(f.key), f.value, kNow), nullptr);
  }
}

TEST(FlowFilter, EmptyMatchesEverythingAndEachFieldNarrows) {
  const Flow f = make_flow(4);  // 10.0.0.4:1004 -> 198.18.100.1:80 tcp, on 198.18.1.12:80
  struct Case {
    const char* name;
    FlowFilter filter;
    bool matches;
  };
  const Case cases[] = {
      {"empty", {}, true},
      {"client", {.client = ip("10.0.0.4")}, true},
      {"other client", {.client = ip("10.0.0.5")}, false},
      {"vip", {.vip = ip("198.18.100.1")}, true},
      {"other vip", {.vip = ip("198.18.100.2")}, false},
      {"vip port", {.vip_port = 80}, true},
      {"other vip port", {.vip_port = 443}, false},
      {"protocol", {.protocol = kProtoTcp}, true},
      {"other protocol", {.protocol = kProtoUdp}, false},
      {"backend", {.backend = ip("198.18.1.12")}, true},
      {"other backend", {.backend = ip("198.18.1.11")}, false},
      {"backend port", {.backend_port = 80}, true},
      {"other backend port", {.backend_port = 8080}, false},
      {"service and backend",
       {.vip = ip("198.18.100.1"),
        .vip_port = 80,
        .protocol = kProtoTcp,
        .backend = ip("198.18.1.12"),
        .backend_port = 80},
       true},
      {"service, other backend port",
       {.vip = ip("198.18.100.1"),
        .vip_port = 80,
        .protocol = kProtoTcp,
        .backend = ip("198.18.1.12"),
        .backend_port = 8080},
       false},
      {"v6 client", {.client = ip("2001:db8::4")}, false},
  };
  for (const Case& c : cases) EXPECT_EQ(c.filter.matches(f.key, f.value), c.matches) << c.name;
}

// A query runs in steps of kStepBuckets, keeps `limit` records, counts every match and ends done.
TEST(FlowQuery, StepsRespectTheLimitCountAllMatchesAndComplete) {
  FlowTable table(4'000);
  fill(table, 3'000);
  const FlowFilter filter{.vip = ip("198.18.100.1"), .backend = ip("198.18.1.11")};
  uint64_t expected = 0;
  for (uint32_t i = 0; i < 3'000; ++i) {
    Flow f = make_flow(i);
    expected += filter.matches(f.key, f.value);
  }
  ASSERT_GT(expected, 100u);

  FlowQuery query;
  EXPECT_EQ(query.state(), FlowQuery::State::idle);
  ASSERT_TRUE(query.post(filter, 100, 3));
  EXPECT_EQ(query.state(), FlowQuery::State::requested);
  const uint64_t now = kNow + 5;
  size_t steps = 0;
  while (!query.step(table, now)) {
    ++steps;
    ASSERT_EQ(query.state(), FlowQuery::State::requested);
    ASSERT_LT(steps, table.bucket_count());
  }
  ++steps;
  EXPECT_EQ(steps, (table.bucket_count() + FlowQuery::kStepBuckets - 1) / FlowQuery::kStepBuckets);
  EXPECT_EQ(query.state(), FlowQuery::State::done);
  EXPECT_EQ(query.matched(), expected);
  std::vector<FlowRecord> records = query.take_records();
  EXPECT_EQ(records.size(), 100u);
  EXPECT_EQ(records.capacity(), 100u) << "the worker allocated";
  for (const FlowRecord& r : records) {
    EXPECT_TRUE(filter.matches(r.key, r.value));
    EXPECT_EQ(r.worker, 3u);
    EXPECT_EQ(r.expires_in_ms, r.value.expires_at_ms - now);
  }
  // done belongs to the control core: a new query may be posted.
  EXPECT_TRUE(query.post({}, 0, 3));
}

TEST(FlowQuery, CountOnlySkipsExpiredFlowsAndFindsNothingInAnEmptyTable) {
  FlowTable table(4'000);
  fill(table, 3'000);
  FlowQuery query;
  ASSERT_TRUE(query.post({}, 0, 0));
  const uint64_t now = kNow + 10 + 1'000;  // flows 0..1000 have expired
  while (!query.step(table, now)) {
  }
  EXPECT_EQ(query.matched(), 3'000u - 1'001u);
  EXPECT_TRUE(query.take_records().empty());

  FlowTable empty(100);
  ASSERT_TRUE(query.post({}, 10, 0));
  EXPECT_TRUE(query.step(empty, now));
  EXPECT_EQ(query.matched(), 0u);
  EXPECT_TRUE(query.take_records().empty());
}

// The mailbox protocol from both sides: poll() costs nothing when idle; a query the control core
// gives up on is cancelled and acknowledged by the worker before the mailbox can be reused.
TEST(FlowQuery, CancelIsAcknowledgedBeforeTheMailboxIsReused) {
  FlowTable table(4'000);
  fill(table, 1'000);
  FlowQuery query;
  query.poll(table, kNow);  // idle: nothing happens
  EXPECT_EQ(query.state(), FlowQuery::State::idle);
  EXPECT_FALSE(query.cancel());

  ASSERT_TRUE(query.post({}, 10, 1));
  query.poll(table, kNow);  // one step, not finished
  ASSERT_EQ(query.state(), FlowQuery::State::requested);
  EXPECT_FALSE(query.post({}, 10, 1)) << "posted over a query the worker still owns";
  ASSERT_TRUE(query.cancel());
  EXPECT_EQ(query.state(), FlowQuery::State::cancelling);
  EXPECT_FALSE(query.post({}, 10, 1)) << "posted before the worker acknowledged the cancel";
  query.poll(table, kNow);
  EXPECT_EQ(query.state(), FlowQuery::State::idle);
  query.poll(table, kNow);
  EXPECT_EQ(query.state(), FlowQuery::State::idle);

  ASSERT_TRUE(query.post({}, 5, 1));
  while (query.state() != FlowQuery::State::done) query.poll(table, kNow);
  EXPECT_EQ(query.matched(), 1'000u);
  EXPECT_EQ(query.take_records().size(), 5u);
  query.poll(table, kNow);  // done: the worker leaves it alone
  EXPECT_EQ(query.state(), FlowQuery::State::done);
}

// A worker thread polling while the control thread posts, waits, and sometimes gives up early.
TEST(FlowQuery, WorkerAndControlThreads) {
  FlowTable table(20'000);
  fill(table, 10'000);
  FlowQuery query;
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    while (!stop.load(std::memory_order_relaxed)) query.poll(table, kNow);
  });
  int answered = 0;
  for (int round = 0; round < 200; ++round) {
    while (!query.post({.backend_port = 8080}, 50, 0)) std::this_thread::yield();
    if (round % 3 == 0) {
      query.cancel();  // may lose to completion: either way the worker lets go
      continue;
    }
    while (query.state() != FlowQuery::State::done) std::this_thread::yield();
    EXPECT_EQ(query.matched(), 3'333u);
    EXPECT_EQ(query.take_records().size(), 50u);
    ++answered;
  }
  stop = true;
  worker.join();
  EXPECT_EQ(answered, 133);
}

}  // namespace
}  // namespace fairway
