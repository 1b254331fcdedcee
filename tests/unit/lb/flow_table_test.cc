#include "lb/flow_table.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "packet/parse.h"

namespace fairway {
namespace {

FlowKey make_key(uint32_t client, uint16_t port, uint8_t protocol = kProtoTcp) {
  const uint8_t src[4] = {10, uint8_t(client >> 16), uint8_t(client >> 8), uint8_t(client)};
  const uint8_t dst[4] = {198, 18, 0, 1};
  FlowKey k;
  k.src = IpAddress::from_v4(src);
  k.dst = IpAddress::from_v4(dst);
  k.src_port = port;
  k.dst_port = 80;
  k.protocol = protocol;
  return k;
}

// Distinct keys in a scrambled order: an odd multiplier is a bijection on 40 bits (client:port).
std::vector<FlowKey> random_keys(size_t n, uint32_t seed) {
  constexpr uint64_t kMask = (uint64_t{1} << 40) - 1;
  std::vector<FlowKey> keys;
  keys.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t x = ((i + uint64_t{seed} * n) * 0x9e3779b97f4a7c15ULL) & kMask;
    keys.push_back(make_key(static_cast<uint32_t>(x >> 16), static_cast<uint16_t>(x)));
  }
  return keys;
}

FlowValue value_until(uint64_t expires_at_ms, uint8_t last_octet = 10) {
  const uint8_t b[4] = {198, 18, 1, last_octet};
  FlowValue v;
  v.backend = IpAddress::from_v4(b);
  v.backend_port = 80;
  v.flags = 7;
  v.expires_at_ms = static_cast<uint32_t>(expires_at_ms);
  return v;
}

const FlowTimeouts kTimeouts{.tcp_syn_ms = 10,
                             .tcp_established_ms = 1000,
                             .tcp_closing_ms = 20,
                             .udp_ms = 300,
                             .other_ms = 60};

TEST(FlowTable, InsertLookupErase) {
  FlowTable table(1024);
  const FlowKey key = make_key(1, 1000);
  const uint64_t h = flow_hash(key);
  EXPECT_EQ(table.lookup(key, h, 0), nullptr);

  FlowValue* stored = table.insert(key, h, value_until(100, 42), 0);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(table.size(), 1u);
  FlowValue* found = table.lookup(key, h, 50);
  ASSERT_EQ(found, stored);
  EXPECT_EQ(found->backend, value_until(0, 42).backend);
  EXPECT_EQ(found->flags, 7u);

  EXPECT_EQ(table.lookup(make_key(1, 1001), flow_hash(make_key(1, 1001)), 50), nullptr);

  table.erase(key, h);
  EXPECT_EQ(table.lookup(key, h, 50), nullptr);
  EXPECT_EQ(table.size(), 0u);
  table.erase(key, h);  // absent: no effect
  EXPECT_EQ(table.size(), 0u);
}

// lookup() tries the slot prefetch_entry() returned first, but must never trust it blindly: the
// candidate of another key, or of a slot erased since, falls back to the search.
TEST(FlowTable, LookupWithCandidate) {
  FlowTable table(1024);
  const FlowKey a = make_key(1, 1000);
  const FlowKey b = make_key(2, 2000);
  const FlowTable::Place pa = table.place(flow_hash(a));
  const FlowTable::Place pb = table.place(flow_hash(b));
  EXPECT_EQ(table.prefetch_entry(pa).slot, FlowTable::Candidate::kNone);  // nothing to match yet
  FlowValue* stored_a = table.insert(a, pa, value_until(100, 1), 0);
  FlowValue* stored_b = table.insert(b, pb, value_until(100, 2), 0);
  ASSERT_NE(stored_a, nullptr);
  ASSERT_NE(stored_b, nullptr);

  const FlowTable::Candidate ca = table.prefetch_entry(pa);
  ASSERT_NE(ca.slot, FlowTable::Candidate::kNone);
  EXPECT_EQ(table.lookup(a, pa, ca, 50), stored_a);
  EXPECT_EQ(table.lookup(b, pb, ca, 50), stored_b);  // another key's candidate: searched
  EXPECT_EQ(table.lookup(a, pa, FlowTable::Candidate{}, 50), stored_a);
  EXPECT_EQ(table.lookup(a, pa, ca, 100), nullptr);  // expired

  table.erase(a, flow_hash(a));
  EXPECT_EQ(table.lookup(a, pa, ca, 50), nullptr);  // the slot was freed since the prefetch
}

TEST(FlowTable, ExpiredEntryMisses) {
  FlowTable table(64);
  const FlowKey key = make_key(2, 2000);
  const uint64_t h = flow_hash(key);
  ASSERT_NE(table.insert(key, h, value_until(100), 0), nullptr);
  EXPECT_NE(table.lookup(key, h, 99), nullptr);
  EXPECT_EQ(table.lookup(key, h, 100), nullptr);  // expires_at <= now counts as gone
  EXPECT_EQ(table.lookup(key, h, 5000), nullptr);
}

TEST(FlowTable, ReinsertAfterExpiryFindsNewValue) {
  FlowTable table(64);
  const FlowKey key = make_key(3, 3000);
  const uint64_t h = flow_hash(key);
  ASSERT_NE(table.insert(key, h, value_until(100, 1), 0), nullptr);
  ASSERT_NE(table.insert(key, h, value_until(300, 2), 200), nullptr);
  const FlowValue* v = table.lookup(key, h, 250);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->backend, value_until(0, 2).backend);
  table.erase(key, h);  // clears the stale copy too, if it is still there
  EXPECT_EQ(table.lookup(key, h, 250), nullptr);
  EXPECT_EQ(table.size(), 0u);
}

TEST(FlowObserve, TcpLifecycle) {
  FlowValue f;
  flow_observe(f, kProtoTcp, kTcpSyn, 1000, kTimeouts);
  EXPECT_EQ(f.tcp_state, TcpFlowState::syn_seen);
  EXPECT_EQ(f.expires_at_ms, 1010u);

  flow_observe(f, kProtoTcp, kTcpSyn, 1005, kTimeouts);  // retransmitted SYN
  EXPECT_EQ(f.tcp_state, TcpFlowState::syn_seen);
  EXPECT_EQ(f.expires_at_ms, 1015u);

  flow_observe(f, kProtoTcp, kTcpAck, 1008, kTimeouts);
  EXPECT_EQ(f.tcp_state, TcpFlowState::established);
  EXPECT_EQ(f.expires_at_ms, 2008u);

  flow_observe(f, kProtoTcp, kTcpAck | kTcpPsh, 1500, kTimeouts);
  EXPECT_EQ(f.tcp_state, TcpFlowState::established);
  EXPECT_EQ(f.expires_at_ms, 2500u);

  flow_observe(f, kProtoTcp, kTcpFin | kTcpAck, 1600, kTimeouts);
  EXPECT_EQ(f.tcp_state, TcpFlowState::closing);
  EXPECT_EQ(f.expires_at_ms, 1620u);

  flow_observe(f, kProtoTcp, kTcpAck, 1610, kTimeouts);  // once closing, stays closing
  EXPECT_EQ(f.tcp_state, TcpFlowState::closing);
  EXPECT_EQ(f.expires_at_ms, 1630u);
  flow_observe(f, kProtoTcp, kTcpSyn, 1615, kTimeouts);
  EXPECT_EQ(f.tcp_state, TcpFlowState::closing);
}

TEST(FlowObserve, TcpEdges) {
  FlowValue f;  // a mid-stream ACK with no entry (e.g. after an LB restart) is established
  flow_observe(f, kProtoTcp, kTcpAck, 0, kTimeouts);
  EXPECT_EQ(f.tcp_state, TcpFlowState::established);

  FlowValue r;
  flow_observe(r, kProtoTcp, kTcpSyn, 0, kTimeouts);
  flow_observe(r, kProtoTcp, kTcpRst, 1, kTimeouts);
  EXPECT_EQ(r.tcp_state, TcpFlowState::closing);
  EXPECT_EQ(r.expires_at_ms, 21u);

  FlowValue s;  // SYN+ACK from the client side is odd: no promotion
  flow_observe(s, kProtoTcp, kTcpSyn | kTcpAck, 0, kTimeouts);
  EXPECT_EQ(s.tcp_state, TcpFlowState::none);
  EXPECT_EQ(s.expires_at_ms, 10u);
}

TEST(FlowObserve, UdpAndOther) {
  FlowValue u;
  flow_observe(u, kProtoUdp, 0, 100, kTimeouts);
  EXPECT_EQ(u.tcp_state, TcpFlowState::none);
  EXPECT_EQ(u.expires_at_ms, 400u);
  FlowValue i;
  flow_observe(i, kProtoIcmp, 0, 100, kTimeouts);
  EXPECT_EQ(i.expires_at_ms, 160u);
}

TEST(FlowTable, ExpiryPerStateThroughObserve) {
  FlowTable table(64);
  const FlowKey key = make_key(4, 4000);
  const uint64_t h = flow_hash(key);
  FlowValue v = value_until(0);
  flow_observe(v, kProtoTcp, kTcpSyn, 0, kTimeouts);
  FlowValue* f = table.insert(key, h, v, 0);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(table.lookup(key, h, 9), nullptr);
  EXPECT_EQ(table.lookup(key, h, 10), nullptr);  // a SYN alone lives tcp_syn_ms

  flow_observe(*f, kProtoTcp, kTcpAck, 5, kTimeouts);  // the handshake completes in time
  EXPECT_NE(table.lookup(key, h, 1004), nullptr);
  EXPECT_EQ(table.lookup(key, h, 1005), nullptr);

  flow_observe(*table.lookup(key, h, 500), kProtoTcp, kTcpFin | kTcpAck, 500, kTimeouts);
  EXPECT_NE(table.lookup(key, h, 519), nullptr);
  EXPECT_EQ(table.lookup(key, h, 520), nullptr);

  const FlowKey ukey = make_key(4, 4000, kProtoUdp);
  FlowValue u = value_until(0);
  flow_observe(u, kProtoUdp, 0, 0, kTimeouts);
  ASSERT_NE(table.insert(ukey, flow_hash(ukey), u, 0), nullptr);
  EXPECT_NE(table.lookup(ukey, flow_hash(ukey), 299), nullptr);
  EXPECT_EQ(table.lookup(ukey, flow_hash(ukey), 300), nullptr);
}

// The stated capacity is reachable with random keys; past it, inserts are refused rather than
// evicting live flows; once those expire their slots are reused.
void fill_and_overflow(size_t capacity, uint32_t seed) {
  FlowTable table(capacity);
  const std::vector<FlowKey> keys = random_keys(capacity * 2, seed);
  for (size_t i = 0; i < capacity; ++i) {
    ASSERT_NE(table.insert(keys[i], flow_hash(keys[i]), value_until(1000), 0), nullptr)
        << "flow " << i << " of " << capacity;
  }
  EXPECT_EQ(table.size(), capacity);

  // Past capacity the table takes flows while some candidate bucket has room, then refuses.
  size_t refused = 0;
  size_t first_refusal = 0;
  for (size_t i = capacity; i < keys.size() && refused < 100; ++i) {
    if (table.insert(keys[i], flow_hash(keys[i]), value_until(1000), 0) == nullptr) {
      if (refused++ == 0) first_refusal = table.size();
    }
  }
  ASSERT_GT(refused, 0u);
  EXPECT_LE(table.size(), table.capacity());
  for (size_t i = 0; i < capacity; ++i) {
    ASSERT_NE(table.lookup(keys[i], flow_hash(keys[i]), 1), nullptr) << "evicted flow " << i;
  }
  std::printf(
      "capacity %zu: %zu slots, first refusal at %zu flows (%.1f%% load), %.1f bytes/flow\n",
      capacity, table.capacity(), first_refusal, 100.0 * first_refusal / table.capacity(),
      double(table.memory_bytes()) / capacity);

  // Everything has expired at t=1000: new flows take the expired slots.
  const std::vector<FlowKey> fresh = random_keys(capacity, seed + 1000);
  for (size_t i = 0; i < capacity; ++i) {
    ASSERT_NE(table.insert(fresh[i], flow_hash(fresh[i]), value_until(5000), 2000), nullptr);
  }
  EXPECT_LE(table.size(), table.capacity());
  for (size_t i = 0; i < capacity; ++i) {
    ASSERT_NE(table.lookup(fresh[i], flow_hash(fresh[i]), 2000), nullptr);
  }
}

TEST(FlowTable, CapacityReachableNoEviction) {
  // Small tables, sizes that round up little, and a large one (where two choices overflow first).
  for (size_t capacity : {64, 1000, 4096, 100'000, 1'000'000}) {
    fill_and_overflow(capacity, static_cast<uint32_t>(capacity));
  }
}

TEST(FlowTable, ExpireSomeSweepsIncrementally) {
  FlowTable table(10'000);
  const std::vector<FlowKey> keys = random_keys(10'000, 5);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint64_t expires = i % 2 ? 100 : 10'000;  // half expire early
    ASSERT_NE(table.insert(keys[i], flow_hash(keys[i]), value_until(expires), 0), nullptr);
  }
  EXPECT_EQ(table.expire_some(50, table.capacity()), 0u);  // nothing due yet

  size_t freed = table.expire_some(200, 1);  // one bucket's worth at most
  EXPECT_LE(freed, 16u);
  EXPECT_EQ(table.size(), keys.size() - freed);
  while (table.size() > keys.size() / 2) {
    const size_t before = table.size();
    freed = table.expire_some(200, 64);
    EXPECT_EQ(table.size(), before - freed);
    ASSERT_LE(keys.size() - table.size(), keys.size() / 2);
  }
  EXPECT_EQ(table.size(), keys.size() / 2);
  EXPECT_EQ(table.expire_some(200, table.capacity()), 0u);  // a full lap finds nothing more
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(table.lookup(keys[i], flow_hash(keys[i]), 200) != nullptr, i % 2 == 0);
  }
}

TEST(FlowTable, ForEachVisitsLiveOnly) {
  FlowTable table(256);
  const std::vector<FlowKey> keys = random_keys(100, 9);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_NE(table.insert(keys[i], flow_hash(keys[i]), value_until(i < 30 ? 10 : 100), 0),
              nullptr);
  }
  table.erase(keys[99], flow_hash(keys[99]));
  std::set<size_t> visited;
  table.for_each(50, [&](const FlowKey& k, const FlowValue& v) {
    EXPECT_GT(v.expires_at_ms, 50u);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == k) visited.insert(i);
    }
  });
  EXPECT_EQ(visited.size(), 69u);
  EXPECT_EQ(*visited.begin(), 30u);
  EXPECT_EQ(*visited.rbegin(), 98u);
}

TEST(FlowTable, MemoryIsReported) {
  FlowTable table(100'000);
  EXPECT_GE(table.capacity(), 100'000u);
  EXPECT_GE(table.memory_bytes(), table.capacity() * (sizeof(FlowKey) + sizeof(FlowValue)));
  EXPECT_LE(table.memory_bytes(), 100'000u * 100);  // under 100 bytes per flow of capacity
}

}  // namespace
// A full table makes room by ending closing flows (FIN or RST seen), never established ones.
TEST(FlowTable, FullTableReplacesClosingFlowsButNeverEstablishedOnes) {
  FlowTable table(1024);
  const std::vector<FlowKey> keys = random_keys(table.capacity() * 2, 11);
  FlowValue closing = value_until(1'000'000);
  closing.tcp_state = TcpFlowState::closing;
  for (const FlowKey& k : keys) {
    ASSERT_NE(table.insert(k, flow_hash(k), closing, 0), nullptr)
        << "refused despite closing flows";
  }
  FlowTable established_table(1024);
  FlowValue established = value_until(1'000'000);
  established.tcp_state = TcpFlowState::established;
  size_t refused = 0;
  for (const FlowKey& k : keys) {
    refused += established_table.insert(k, flow_hash(k), established, 0) == nullptr;
  }
  EXPECT_GT(refused, 0u);
}

// A key that comes back after its flow expired reuses its old slot: no stale copy, no growth.
TEST(FlowTable, ReturningKeyReusesItsExpiredSlot) {
  FlowTable table(1024);
  const FlowKey key = make_key(3, 3000);
  const uint64_t h = flow_hash(key);
  FlowValue* first = table.insert(key, h, value_until(100), 0);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(table.lookup(key, h, 200), nullptr);
  FlowValue* second = table.insert(key, h, value_until(500, 99), 200);
  EXPECT_EQ(second, first);
  EXPECT_EQ(table.size(), 1u);
  ASSERT_NE(table.lookup(key, h, 300), nullptr);
  EXPECT_EQ(table.lookup(key, h, 300)->backend, value_until(0, 99).backend);
}

// The worker's sweep keeps pace with time, not with packets: one full pass per period.
TEST(FlowTable, ExpireDueSweepsTheWholeTableOncePerPeriod) {
  FlowTable table(4096);
  const std::vector<FlowKey> keys = random_keys(2000, 7);
  for (const FlowKey& k : keys)
    ASSERT_NE(table.insert(k, flow_hash(k), value_until(50), 0), nullptr);
  size_t freed = table.expire_due(100);  // starts the clock: at most one call's worth
  EXPECT_LE(freed, FlowTable::kMaxSweepBuckets * 16);
  const uint64_t step = 5;  // a poll loop calling every 5 ms
  for (uint64_t now = 100 + step; now <= 100 + FlowTable::kSweepPeriodMs + step; now += step) {
    freed += table.expire_due(now);
  }
  EXPECT_EQ(freed, keys.size());
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.expire_due(100 + 2 * FlowTable::kSweepPeriodMs), 0u);
}

// A worker that slept (workers_poll: adaptive) calls rarely: what the gap left owed is paid by the
// calls after it, so the table is still swept once per period.
TEST(FlowTable, ExpireDueCatchesUpAfterALongGap) {
  FlowTable table(4096);
  const std::vector<FlowKey> keys = random_keys(2000, 9);
  for (const FlowKey& k : keys)
    ASSERT_NE(table.insert(k, flow_hash(k), value_until(50), 0), nullptr);
  size_t freed = table.expire_due(100);
  EXPECT_FALSE(table.sweep_behind());
  const uint64_t later = 100 + FlowTable::kSweepPeriodMs;  // one call a whole period later
  const size_t first = table.expire_due(later);
  EXPECT_LE(first, FlowTable::kMaxSweepBuckets * 16);
  freed += first;
  EXPECT_TRUE(table.sweep_behind());
  size_t calls = 1;
  while (table.sweep_behind()) {
    freed += table.expire_due(later);
    ASSERT_LT(++calls, 1000u);
  }
  EXPECT_LE(calls, table.bucket_count() / FlowTable::kMaxSweepBuckets + 1);
  EXPECT_EQ(freed, keys.size());
  EXPECT_EQ(table.size(), 0u);
}

// The worker's millisecond clock is stored modulo 2^32: expiry must stay right across the wrap.
TEST(FlowTable, ExpiryIsRightAcrossTheClockWrap) {
  FlowTable table(1024);
  const FlowKey key = make_key(9, 9000);
  const uint64_t h = flow_hash(key);
  const uint64_t near_wrap = (uint64_t{1} << 32) - 5;  // 5 ms before the 32-bit wrap
  FlowValue v = value_until(0);
  flow_observe(v, kProtoUdp, 0, near_wrap, kTimeouts);  // expires 300 ms later, past the wrap
  ASSERT_NE(table.insert(key, h, v, near_wrap), nullptr);
  EXPECT_NE(table.lookup(key, h, near_wrap + 100), nullptr);
  EXPECT_NE(table.lookup(key, h, near_wrap + 299), nullptr);
  EXPECT_EQ(table.lookup(key, h, near_wrap + 300), nullptr);
  EXPECT_EQ(table.expire_some(near_wrap + 301, table.capacity()), 1u);
}

// The incremental scan: in steps of any size, every live entry once, expired ones never, and the
// returned cursor reaches bucket_count() exactly when the scan is done.
TEST(FlowTable, ScanInStepsVisitsEachLiveEntryOnce) {
  FlowTable table(5'000);
  const std::vector<FlowKey> keys = random_keys(4'000, 13);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_NE(table.insert(keys[i], flow_hash(keys[i]), value_until(i % 4 == 0 ? 10 : 100), 0),
              nullptr);
  }
  for (size_t i = 0; i < 100; ++i) table.erase(keys[i * 2 + 1], flow_hash(keys[i * 2 + 1]));
  std::map<uint64_t, size_t> index_of_hash;
  for (size_t i = 0; i < keys.size(); ++i) index_of_hash[flow_hash(keys[i])] = i;
  ASSERT_EQ(index_of_hash.size(), keys.size());
  for (size_t step : {size_t{1}, size_t{7}, size_t{64}, table.bucket_count(), ~size_t{0}}) {
    std::vector<int> seen(keys.size(), 0);
    size_t cursor = 0;
    size_t steps = 0;
    while (cursor < table.bucket_count()) {
      const size_t next = table.scan(cursor, step, 50, [&](const FlowKey& k, const FlowValue& v) {
        EXPECT_TRUE(flow_alive(v.expires_at_ms, 50));
        auto it = index_of_hash.find(flow_hash(k));
        ASSERT_NE(it, index_of_hash.end());
        ASSERT_EQ(keys[it->second], k);
        ++seen[it->second];
      });
      ASSERT_GT(next, cursor);
      ASSERT_LE(next, table.bucket_count());
      ASSERT_LE(next - cursor, step);
      cursor = next;
      ++steps;
    }
    EXPECT_EQ(steps, (table.bucket_count() + std::min(step, table.bucket_count()) - 1) /
                         std::min(step, table.bucket_count()));
    for (size_t i = 0; i < keys.size(); ++i) {
      const bool erased = i < 200 && i % 2 == 1;
      const bool expired = i % 4 == 0;
      EXPECT_EQ(seen[i], erased || expired ? 0 : 1) << "key " << i << " step " << step;
    }
  }
  // Past the end: nothing visited, the end returned.
  size_t visits = 0;
  EXPECT_EQ(
      table.scan(table.bucket_count(), 64, 50, [&](const FlowKey&, const FlowValue&) { ++visits; }),
      table.bucket_count());
  EXPECT_EQ(table.scan(table.bucket_count() + 5, 64, 50,
                       [&](const FlowKey&, const FlowValue&) { ++visits; }),
            table.bucket_count());
  EXPECT_EQ(visits, 0u);
}

// Entries never move between buckets: a flow that stays alive while others come and go between
// steps is still visited exactly once.
TEST(FlowTable, ScanSurvivesChangesBetweenSteps) {
  FlowTable table(2'000);
  const std::vector<FlowKey> stable = random_keys(1'000, 21);
  const std::vector<FlowKey> churn = random_keys(1'000, 22);
  for (const FlowKey& k : stable)
    ASSERT_NE(table.insert(k, flow_hash(k), value_until(1'000), 0), nullptr);
  std::map<std::string, int>
      seen;  // by key bytes (a string: GCC 12 -O3 misreads vector<uint8_t> <=>)
  size_t cursor = 0;
  size_t round = 0;
  while (cursor < table.bucket_count()) {
    cursor = table.scan(cursor, 3, 50, [&](const FlowKey& k, const FlowValue&) {
      const auto* bytes = reinterpret_cast<const uint8_t*>(&k);
      ++seen[std::string(reinterpret_cast<const char*>(bytes), sizeof k)];
    });
    // Between steps the worker inserts and erases other flows.
    const FlowKey& c = churn[round % churn.size()];
    if (round % 2 == 0) {
      table.insert(c, flow_hash(c), value_until(1'000), 50);
    } else {
      table.erase(churn[(round - 1) % churn.size()], flow_hash(churn[(round - 1) % churn.size()]));
    }
    ++round;
  }
  for (const FlowKey& k : stable) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&k);
    EXPECT_EQ(seen[std::string(reinterpret_cast<const char*>(bytes), sizeof k)], 1);
  }
}

TEST(FlowObserve, TcpStateNames) {
  EXPECT_STREQ(tcp_state_name(TcpFlowState::none), "none");
  EXPECT_STREQ(tcp_state_name(TcpFlowState::syn_seen), "syn_seen");
  EXPECT_STREQ(tcp_state_name(TcpFlowState::established), "established");
  EXPECT_STREQ(tcp_state_name(TcpFlowState::closing), "closing");
}

}  // namespace fairway

namespace fairway {
namespace {

// Fills `table` with flows in `state` (inserted, then observed as the pipeline does), from `first`
// in `keys`, until an insert refuses or evicts; returns how many went in.
size_t fill_with(FlowTable& table, const std::vector<FlowKey>& keys, size_t first, uint8_t flags,
                 uint64_t now_ms, const FlowTimeouts& timeouts) {
  size_t n = first;
  for (; n < keys.size(); ++n) {
    FlowEviction evicted = FlowEviction::none;
    FlowValue* v =
        table.insert(keys[n], table.place(flow_hash(keys[n])), value_until(0), now_ms, &evicted);
    if (v == nullptr || evicted != FlowEviction::none) break;
    table.observe(*v, kProtoTcp, kTcpSyn, now_ms, timeouts);
    if (flags != kTcpSyn) table.observe(*v, kProtoTcp, flags, now_ms, timeouts);
  }
  return n - first;
}

const FlowTimeouts kLongTimeouts{.tcp_syn_ms = 30'000,
                                 .tcp_syn_under_pressure_ms = 3'000,
                                 .tcp_established_ms = 900'000,
                                 .tcp_closing_ms = 30'000,
                                 .udp_ms = 300'000,
                                 .other_ms = 60'000};

// Half-open entries give way oldest first. A 16-flow table has two buckets, one per half: every
// key's two candidates are the same 32 slots, so the oldest of all is the victim.
TEST(FlowTablePressure, HalfOpenEntriesAreEvictedOldestFirst) {
  FlowTable table(16);
  ASSERT_EQ(table.capacity(), 32u);
  FlowTimeouts hour = kLongTimeouts;
  hour.tcp_syn_ms = hour.tcp_syn_under_pressure_ms = 3'600'000;
  const std::vector<FlowKey> keys = random_keys(40, 21);
  uint64_t now = 1000;
  for (size_t k = 0; k < keys.size(); ++k, now += 2000) {
    FlowEviction evicted = FlowEviction::none;
    FlowValue* v =
        table.insert(keys[k], table.place(flow_hash(keys[k])), value_until(0), now, &evicted);
    ASSERT_NE(v, nullptr) << "a table of half-open flows refused a new one";
    table.observe(*v, kProtoTcp, kTcpSyn, now, hour);
    EXPECT_EQ(evicted, k < 32 ? FlowEviction::none : FlowEviction::half_open) << k;
    if (k >= 32) {
      // keys[k - 32] (the oldest) is the one gone; the next oldest is still there.
      EXPECT_EQ(table.lookup(keys[k - 32], flow_hash(keys[k - 32]), now), nullptr) << k;
      EXPECT_NE(table.lookup(keys[k - 31], flow_hash(keys[k - 31]), now), nullptr) << k;
    }
  }
  EXPECT_EQ(table.half_open(), 32u);
  EXPECT_TRUE(table.under_pressure(now));
}

TEST(FlowTablePressure, EstablishedEntriesAreNeverEvicted) {
  FlowTable table(1024);
  const std::vector<FlowKey> keys = random_keys(table.capacity() * 4, 22);
  const size_t established = fill_with(table, keys, 0, kTcpAck, 1000, kLongTimeouts);
  ASSERT_GT(established, 900u);
  size_t refused = 0;
  for (size_t k = established; k < keys.size(); ++k) {
    FlowEviction evicted = FlowEviction::none;
    FlowValue* v = table.insert(keys[k], flow_hash(keys[k]), value_until(0), 2000);
    (void)evicted;
    if (v == nullptr) {
      ++refused;
      continue;
    }
    table.observe(*v, kProtoTcp, kTcpSyn, 2000, kLongTimeouts);
    table.observe(*v, kProtoTcp, kTcpAck, 2000, kLongTimeouts);
  }
  EXPECT_GT(refused, 0u);
  for (size_t k = 0; k < established; ++k) {
    ASSERT_NE(table.lookup(keys[k], flow_hash(keys[k]), 3000), nullptr) << "evicted " << k;
  }
}

// After half-open entries, closing ones go, and an established flow survives a flood of SYNs.
TEST(FlowTablePressure, ClosingAfterHalfOpenEstablishedNever) {
  FlowTable table(64);
  const std::vector<FlowKey> keys = random_keys(20000, 23);
  // One established and one closing flow, then a flood of SYNs.
  FlowValue* est = table.insert(keys[0], flow_hash(keys[0]), value_until(0), 0);
  table.observe(*est, kProtoTcp, kTcpSyn, 0, kLongTimeouts);
  table.observe(*est, kProtoTcp, kTcpAck, 0, kLongTimeouts);
  FlowValue* fin = table.insert(keys[1], flow_hash(keys[1]), value_until(0), 0);
  table.observe(*fin, kProtoTcp, kTcpSyn, 0, kLongTimeouts);
  table.observe(*fin, kProtoTcp, kTcpAck | kTcpFin, 0, kLongTimeouts);
  size_t evicted_half_open = 0;
  size_t evicted_closing = 0;
  size_t refused = 0;
  for (size_t k = 2; k < keys.size(); ++k) {
    FlowEviction evicted = FlowEviction::none;
    FlowValue* v =
        table.insert(keys[k], table.place(flow_hash(keys[k])), value_until(0), 10, &evicted);
    if (v == nullptr) {
      ++refused;
      continue;
    }
    table.observe(*v, kProtoTcp, kTcpSyn, 10, kLongTimeouts);
    evicted_half_open += evicted == FlowEviction::half_open;
    evicted_closing += evicted == FlowEviction::closing;
  }
  EXPECT_GT(evicted_half_open, 10000u);
  EXPECT_EQ(refused, 0u);  // only one established flow: some half-open one always gives way
  EXPECT_NE(table.lookup(keys[0], flow_hash(keys[0]), 20), nullptr);
  // The closing flow went only if it shared buckets with a newcomer that had no half-open victim:
  // never, as each of its buckets also holds half-open flows (it is full).
  EXPECT_EQ(evicted_closing, 0u);
  EXPECT_NE(table.lookup(keys[1], flow_hash(keys[1]), 20), nullptr);
}

TEST(FlowTablePressure, ClosingEntriesGoWhenNoHalfOpenOneIsLeft) {
  FlowTable table(1024);
  const std::vector<FlowKey> keys = random_keys(table.capacity() * 4, 24);
  size_t closing = 0;
  for (; closing < keys.size(); ++closing) {
    FlowEviction evicted = FlowEviction::none;
    FlowValue* v = table.insert(keys[closing], table.place(flow_hash(keys[closing])),
                                value_until(0), 0, &evicted);
    if (evicted != FlowEviction::none) {
      EXPECT_EQ(evicted, FlowEviction::closing);
      break;
    }
    ASSERT_NE(v, nullptr);
    table.observe(*v, kProtoTcp, kTcpSyn, 0, kLongTimeouts);
    table.observe(*v, kProtoTcp, kTcpRst, 0, kLongTimeouts);
  }
  EXPECT_LT(closing, keys.size());
  EXPECT_EQ(table.half_open(), 0u);
}

// Under pressure a half-open flow lives tcp_syn_under_pressure, not tcp_syn; it recovers.
TEST(FlowTablePressure, SynTimeoutShortensUnderPressureAndRecovers) {
  FlowTable table(1024);
  const std::vector<FlowKey> keys = random_keys(table.capacity() * 4, 25);
  FlowValue* calm = table.insert(keys[0], flow_hash(keys[0]), value_until(0), 0);
  table.observe(*calm, kProtoTcp, kTcpSyn, 0, kLongTimeouts);
  EXPECT_EQ(calm->expires_at_ms, 30'000u);
  EXPECT_FALSE(table.under_pressure(0));
  // Half-open flows past a quarter of the slots: pressure.
  size_t k = 1;
  for (; !table.under_pressure(0); ++k) {
    FlowValue* v = table.insert(keys[k], flow_hash(keys[k]), value_until(0), 0);
    ASSERT_NE(v, nullptr);
    table.observe(*v, kProtoTcp, kTcpSyn, 0, kLongTimeouts);
  }
  EXPECT_GT(table.half_open() * 4, table.capacity());
  FlowValue* hurried = table.insert(keys[k], flow_hash(keys[k]), value_until(0), 100);
  table.observe(*hurried, kProtoTcp, kTcpSyn, 100, kLongTimeouts);
  EXPECT_EQ(hurried->expires_at_ms, 3'100u);
  // Completing the handshake gives the established timeout and leaves the half-open count.
  const size_t before = table.half_open();
  table.observe(*hurried, kProtoTcp, kTcpAck, 200, kLongTimeouts);
  EXPECT_EQ(hurried->expires_at_ms, 900'200u);
  EXPECT_EQ(table.half_open(), before - 1);
  // Once the half-open flows expire and are swept, the pressure is gone.
  table.expire_some(40'000, table.bucket_count());
  EXPECT_EQ(table.half_open(), 0u);
  EXPECT_FALSE(table.under_pressure(40'000));
  EXPECT_EQ(table.size(), 1u);
}

// Erase and sweep keep the half-open count exact.
TEST(FlowTablePressure, HalfOpenCountFollowsEraseAndSweep) {
  FlowTable table(1024);
  const std::vector<FlowKey> keys = random_keys(100, 26);
  for (const FlowKey& key : keys) {
    FlowValue* v = table.insert(key, flow_hash(key), value_until(0), 0);
    table.observe(*v, kProtoTcp, kTcpSyn, 0, kLongTimeouts);
  }
  EXPECT_EQ(table.half_open(), 100u);
  for (size_t k = 0; k < 10; ++k) table.erase(keys[k], flow_hash(keys[k]));
  EXPECT_EQ(table.half_open(), 90u);
  table.expire_some(31'000, table.bucket_count());
  EXPECT_EQ(table.half_open(), 0u);
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace fairway

namespace fairway {
namespace {

// A TCP flow that opened with neither a SYN nor a plain ACK (a SYN+ACK, no flags) is unproven:
// counted and evicted like a half-open one, so that a flood of such segments cannot fill the table.
TEST(FlowTablePressure, FlowsOpenedByOddSegmentsAreEvictableLikeHalfOpenOnes) {
  FlowTable table(1024);
  const std::vector<FlowKey> keys = random_keys(table.capacity() * 4, 31);
  size_t evicted_half_open = 0;
  size_t refused = 0;
  for (const FlowKey& key : keys) {
    FlowEviction evicted = FlowEviction::none;
    FlowValue* v = table.insert(key, table.place(flow_hash(key)), value_until(0), 0, &evicted);
    if (v == nullptr) {
      ++refused;
      continue;
    }
    if (evicted == FlowEviction::half_open) ++evicted_half_open;
    table.observe(*v, kProtoTcp, kTcpSyn | kTcpAck, 0, kLongTimeouts);
    EXPECT_EQ(v->tcp_state, TcpFlowState::none);
  }
  EXPECT_EQ(refused, 0u);
  EXPECT_GT(evicted_half_open, table.capacity());
  EXPECT_EQ(table.half_open(), table.size());
  // A plain ACK proves the flow: it leaves the half-open count.
  FlowValue* v = table.lookup(keys.back(), flow_hash(keys.back()), 1);
  ASSERT_NE(v, nullptr);
  table.observe(*v, kProtoTcp, kTcpAck, 1, kLongTimeouts);
  EXPECT_EQ(table.half_open(), table.size() - 1);
}

}  // namespace
}  // namespace fairway
