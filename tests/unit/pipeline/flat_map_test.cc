#include "pipeline/flat_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <stdexcept>

#include "pipeline/snapshot.h"

namespace fairway {
namespace {

IpAddress v4(uint32_t host_order) {
  uint8_t b[4] = {uint8_t(host_order >> 24), uint8_t(host_order >> 16), uint8_t(host_order >> 8),
                  uint8_t(host_order)};
  return IpAddress::from_v4(b);
}

TEST(FlatMap, EmptyMapFindsNothing) {
  FlatMap<IpAddress, int, IpAddressHash> m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.find(v4(1)), nullptr);
  EXPECT_EQ(m.count(v4(1)), 0u);
  EXPECT_THROW(m.at(v4(1)), std::out_of_range);
}

TEST(FlatMap, InsertFindOverwriteEmplace) {
  FlatMap<Endpoint, uint32_t, EndpointHash> m;
  Endpoint a{v4(0xc6126401), 80, 6};
  Endpoint b{v4(0xc6126401), 80, 17};  // differs in the protocol only
  Endpoint c{v4(0xc6126401), 443, 6};  // in the port only
  m[a] = 1;
  m[b] = 2;
  EXPECT_TRUE(m.emplace(c, 3));
  EXPECT_FALSE(m.emplace(c, 4));  // present: left as it is
  m[a] = 5;
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.at(a), 5u);
  EXPECT_EQ(m.at(b), 2u);
  EXPECT_EQ(m.at(c), 3u);
  EXPECT_EQ(m.find(Endpoint{v4(0xc6126402), 80, 6}), nullptr);
}

// Growth and collisions against std::map as the reference, with dense and sparse keys.
TEST(FlatMap, AgreesWithStdMapThroughGrowth) {
  FlatMap<IpAddress, uint32_t, IpAddressHash> m;
  std::map<IpAddress, uint32_t> reference;
  std::mt19937 rng(7);
  for (uint32_t i = 0; i < 5000; ++i) {
    IpAddress a = (i % 2) ? v4(0xc6120000 + i) : v4(static_cast<uint32_t>(rng()));
    if (i % 7 == 0) a.bytes[0] = 0x20;  // an IPv6 address now and then
    m[a] = i;
    reference[a] = i;
  }
  ASSERT_EQ(m.size(), reference.size());
  for (const auto& [address, value] : reference) {
    const uint32_t* found = m.find(address);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, value);
  }
  for (uint32_t i = 0; i < 5000; ++i) {
    IpAddress a = v4(0x0a000000 + i);
    EXPECT_EQ(m.find(a) != nullptr, reference.count(a) != 0);
  }
}

}  // namespace
}  // namespace fairway
