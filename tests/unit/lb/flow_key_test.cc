#include "lb/flow_key.h"

#include <gtest/gtest.h>

namespace fairway {
namespace {

FlowKey key(const char* src, const char* dst, uint16_t src_port, uint16_t dst_port,
            uint8_t protocol) {
  return FlowKey{*IpAddress::parse(src), *IpAddress::parse(dst), src_port, dst_port, protocol};
}

// The hash picks the Maglev entry: nodes of one cluster, and a node across an upgrade, must agree
// on it, so its values are pinned. A change here is a change of every flow's back-end.
TEST(FlowHash, ValuesArePinned) {
  EXPECT_EQ(flow_hash(key("198.18.64.7", "198.18.100.1", 40000, 80, 6)), 0x69a45b2e49e19580ULL);
  EXPECT_EQ(flow_hash(key("2001:2::7", "2001:2:0:100::1", 5353, 53, 17)), 0x1d63393b74adb1cdULL);
}

TEST(SourceHash, ValuesArePinnedAndDifferFromTheFlowHash) {
  EXPECT_EQ(source_hash(*IpAddress::parse("198.18.64.7")), 0x13fcf29ba7376859ULL);
  EXPECT_EQ(source_hash(*IpAddress::parse("2001:2::7")), 0x67c7fbdccbf49448ULL);
  EXPECT_NE(source_hash(*IpAddress::parse("198.18.64.8")), source_hash(*IpAddress::parse("198.18.64.7")));
}

TEST(FlowHash, EveryFieldCounts) {
  const FlowKey base = key("198.18.64.7", "198.18.100.1", 40000, 80, 6);
  const uint64_t h = flow_hash(base);
  EXPECT_NE(flow_hash(key("198.18.64.8", "198.18.100.1", 40000, 80, 6)), h);
  EXPECT_NE(flow_hash(key("198.18.64.7", "198.18.100.2", 40000, 80, 6)), h);
  EXPECT_NE(flow_hash(key("198.18.64.7", "198.18.100.1", 40001, 80, 6)), h);
  EXPECT_NE(flow_hash(key("198.18.64.7", "198.18.100.1", 40000, 81, 6)), h);
  EXPECT_NE(flow_hash(key("198.18.64.7", "198.18.100.1", 40000, 80, 17)), h);
}

}  // namespace
}  // namespace fairway
