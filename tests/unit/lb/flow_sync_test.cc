// The flow table's side of flow sync: what it journals, and adopting other nodes' flows.
#include <gtest/gtest.h>

#include "lb/flow_sync_record.h"
#include "lb/flow_table.h"
#include "packet/parse.h"

namespace fairway {
namespace {

FlowKey key(uint16_t port, uint8_t protocol = kProtoTcp) {
  FlowKey k;
  k.src = *IpAddress::parse("198.18.0.2");
  k.dst = *IpAddress::parse("198.18.100.1");
  k.src_port = port;
  k.dst_port = 80;
  k.protocol = protocol;
  return k;
}

FlowValue to_backend(const char* address) {
  return FlowValue{*IpAddress::parse(address), 80, TcpFlowState::none, 0, 0};
}

TEST(FlowSyncRing, CarriesRecordsInOrderAndRefusesWhenFull) {
  FlowSyncRing ring(4);
  EXPECT_TRUE(ring.empty());
  for (uint16_t p = 1; p <= 4; ++p) EXPECT_TRUE(ring.push(FlowSyncRecord{key(p), {}, 0, false}));
  EXPECT_FALSE(ring.push(FlowSyncRecord{key(5), {}, 0, false}));
  FlowSyncRecord out[3];
  ASSERT_EQ(ring.pop(out), 3u);
  EXPECT_EQ(out[0].key.src_port, 1);
  EXPECT_EQ(out[2].key.src_port, 3);
  EXPECT_TRUE(ring.push(FlowSyncRecord{key(6), {}, 0, false}));
  ASSERT_EQ(ring.pop(out), 2u);
  EXPECT_EQ(out[1].key.src_port, 6);
  EXPECT_TRUE(ring.empty());
}

TEST(FlowSync, ATcpFlowIsJournaledOnceWhenItBecomesEstablished) {
  FlowTable table(1024);
  FlowSyncRing journal(64);
  table.set_sync_journal(&journal);
  const FlowTimeouts timeouts;
  FlowValue* flow = table.insert(key(1000), flow_hash(key(1000)), to_backend("198.18.1.12"), 0);
  ASSERT_NE(flow, nullptr);
  table.observe(*flow, kProtoTcp, kTcpSyn, 0, timeouts);
  EXPECT_TRUE(journal.empty());  // half-open flows are not shared (a SYN flood stays local)
  table.observe(*flow, kProtoTcp, kTcpAck, 1, timeouts);
  table.observe(*flow, kProtoTcp, kTcpAck, 2, timeouts);
  FlowSyncRecord out[4];
  ASSERT_EQ(journal.pop(out), 1u);
  EXPECT_EQ(out[0].key, key(1000));
  EXPECT_EQ(out[0].backend, *IpAddress::parse("198.18.1.12"));
  EXPECT_TRUE(out[0].established);
}

TEST(FlowSync, AdoptedFlowsKeepTheirBackendAndTimeoutsAndNeverOverrideOurOwn) {
  FlowTable table(1024);
  FlowSyncRing journal(64);
  table.set_sync_journal(&journal);
  FlowTimeouts timeouts;
  timeouts.tcp_established_ms = 5'000;
  timeouts.udp_ms = 2'000;
  const FlowSyncRecord tcp{key(2000), *IpAddress::parse("198.18.1.13"), 80, true};
  ASSERT_TRUE(table.adopt(tcp, 100, timeouts));
  const FlowValue* adopted = table.lookup(key(2000), flow_hash(key(2000)), 200);
  ASSERT_NE(adopted, nullptr);
  EXPECT_EQ(adopted->backend, tcp.backend);
  EXPECT_EQ(adopted->tcp_state, TcpFlowState::established);
  EXPECT_EQ(adopted->flags, kFlowAdopted);  // not sent back to the peers
  EXPECT_EQ(table.lookup(key(2000), flow_hash(key(2000)), 5'200), nullptr);  // expired
  EXPECT_TRUE(journal.empty());  // not sent back to the peers
  // Ours wins: a key this table knows is left as it is.
  FlowValue* mine = table.insert(key(3000), flow_hash(key(3000)), to_backend("198.18.1.11"), 0);
  ASSERT_NE(mine, nullptr);
  table.observe(*mine, kProtoTcp, kTcpSyn, 0, timeouts);
  EXPECT_FALSE(table.adopt(FlowSyncRecord{key(3000), *IpAddress::parse("198.18.1.13"), 80, true},
                           10, timeouts));
  EXPECT_EQ(table.lookup(key(3000), flow_hash(key(3000)), 10)->backend,
            *IpAddress::parse("198.18.1.11"));
  const FlowSyncRecord udp{key(53, kProtoUdp), *IpAddress::parse("198.18.1.12"), 53, false};
  ASSERT_TRUE(table.adopt(udp, 100, timeouts));
  EXPECT_NE(table.lookup(udp.key, flow_hash(udp.key), 2'000), nullptr);
  EXPECT_EQ(table.lookup(udp.key, flow_hash(udp.key), 2'200), nullptr);
}

TEST(FlowSync, APeersRefreshRestartsTheTimeoutOfTheSameFlowOnly) {
  FlowTable table(1024);
  FlowTimeouts timeouts;
  timeouts.tcp_established_ms = 5'000;
  const FlowSyncRecord tcp{key(4000), *IpAddress::parse("198.18.1.13"), 80, true};
  ASSERT_TRUE(table.adopt(tcp, 0, timeouts));
  EXPECT_FALSE(table.adopt(tcp, 4'000, timeouts));  // known: a refresh, not a new flow
  EXPECT_NE(table.lookup(tcp.key, flow_hash(tcp.key), 8'000), nullptr);  // alive until 9 000
  EXPECT_EQ(table.lookup(tcp.key, flow_hash(tcp.key), 9'100), nullptr);
  // Another back-end for the key: this node's entry is left alone, its timeout too.
  ASSERT_TRUE(table.adopt(tcp, 10'000, timeouts));
  FlowSyncRecord elsewhere = tcp;
  elsewhere.backend = *IpAddress::parse("198.18.1.11");
  EXPECT_FALSE(table.adopt(elsewhere, 14'000, timeouts));
  const FlowValue* flow = table.lookup(tcp.key, flow_hash(tcp.key), 14'000);
  ASSERT_NE(flow, nullptr);
  EXPECT_EQ(flow->backend, tcp.backend);
  EXPECT_EQ(table.lookup(tcp.key, flow_hash(tcp.key), 15'100), nullptr);
}

}  // namespace
}  // namespace fairway
