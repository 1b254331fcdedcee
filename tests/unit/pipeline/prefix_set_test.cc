#include "pipeline/prefix_set.h"

#include <gtest/gtest.h>

#include <random>

namespace fairway {
namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}
IpPrefix prefix(const char* text) {
  return *IpPrefix::parse(text);
}

TEST(PrefixSet, EmptyContainsNothing) {
  PrefixSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.contains(ip("198.18.0.1")));
}

TEST(PrefixSet, MatchesEveryLengthAndNothingBeside) {
  PrefixSet set;
  set.add(prefix("198.18.9.0/24"));
  set.add(prefix("198.19.0.0/16"));
  set.add(prefix("198.18.0.7/32"));
  set.add(prefix("2001:2:9::/48"));
  EXPECT_TRUE(set.contains(ip("198.18.9.0")));
  EXPECT_TRUE(set.contains(ip("198.18.9.255")));
  EXPECT_FALSE(set.contains(ip("198.18.10.1")));
  EXPECT_TRUE(set.contains(ip("198.19.200.3")));
  EXPECT_TRUE(set.contains(ip("198.18.0.7")));
  EXPECT_FALSE(set.contains(ip("198.18.0.8")));
  EXPECT_TRUE(set.contains(ip("2001:2:9:ffff::1")));
  EXPECT_FALSE(set.contains(ip("2001:2:a::1")));
}

// A /24 present and a /16 length present from another prefix must not combine into a false match
// (the masked address of a shorter length equal to a longer prefix's).
TEST(PrefixSet, LengthsDoNotCrossMatch) {
  PrefixSet set;
  set.add(prefix("198.18.0.0/24"));
  set.add(prefix("198.19.0.0/16"));
  EXPECT_FALSE(set.contains(ip("198.18.1.1")));  // masked /16 = 198.18.0.0, a /24's address
}

TEST(PrefixSet, Ipv6PrefixesNeverCoverIpv4Clients) {
  PrefixSet set;
  set.add(prefix("::/0"));
  EXPECT_TRUE(set.contains(ip("2001:2::1")));
  EXPECT_FALSE(set.contains(ip("198.18.0.1")));
  PrefixSet v4;
  v4.add(prefix("0.0.0.0/0"));
  EXPECT_TRUE(v4.contains(ip("198.18.0.1")));
  EXPECT_FALSE(v4.contains(ip("2001:2::1")));
}

// Against IpPrefix::contains over random prefixes and addresses.
TEST(PrefixSet, AgreesWithIpPrefixContains) {
  std::mt19937 random(7);
  std::vector<IpPrefix> prefixes;
  PrefixSet set;
  for (int i = 0; i < 40; ++i) {
    uint8_t bytes[4] = {198, static_cast<uint8_t>(18 + random() % 2),
                        static_cast<uint8_t>(random() % 4), static_cast<uint8_t>(random())};
    IpPrefix p{IpAddress::from_v4(bytes), static_cast<uint8_t>(16 + random() % 17)};
    prefixes.push_back(p);
    set.add(p);
  }
  for (int i = 0; i < 20000; ++i) {
    uint8_t bytes[4] = {198, static_cast<uint8_t>(18 + random() % 2),
                        static_cast<uint8_t>(random() % 4), static_cast<uint8_t>(random())};
    const IpAddress a = IpAddress::from_v4(bytes);
    bool expected = false;
    for (const IpPrefix& p : prefixes) expected = expected || p.contains(a);
    ASSERT_EQ(set.contains(a), expected) << a.to_string();
  }
}

}  // namespace
}  // namespace fairway
