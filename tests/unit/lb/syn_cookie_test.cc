#include "lb/syn_cookie.h"

#include <gtest/gtest.h>

#include <set>

namespace fairway {
namespace {

const SynCookieKey kKey{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

FlowKey flow(uint16_t client_port = 40000) {
  return FlowKey{*IpAddress::parse("198.18.0.2"), *IpAddress::parse("198.18.100.1"), client_port,
                 80, 6};
}

TEST(SynCookie, ValidInItsPeriodAndTheNextOnly) {
  const uint32_t clock = syn_cookie_clock(1'800'000'000);
  const uint32_t cookie = make_syn_cookie(kKey, flow(), 1000, clock, 6);
  EXPECT_EQ(check_syn_cookie(kKey, flow(), 1000, cookie, clock), std::optional<uint8_t>(6));
  EXPECT_EQ(check_syn_cookie(kKey, flow(), 1000, cookie, clock + 1), std::optional<uint8_t>(6));
  EXPECT_FALSE(check_syn_cookie(kKey, flow(), 1000, cookie, clock + 2));
  EXPECT_FALSE(check_syn_cookie(kKey, flow(), 1000, cookie, clock - 1));  // from the future
  // Every 32nd period the 5-bit clock repeats: the MAC, which covers the whole clock, refuses it.
  EXPECT_FALSE(check_syn_cookie(kKey, flow(), 1000, cookie, clock + 32));
}

TEST(SynCookie, BoundToTheFlowTheIsnTheKeyAndTheMssClass) {
  const uint32_t clock = 12345;
  const uint32_t cookie = make_syn_cookie(kKey, flow(), 1000, clock, 3);
  EXPECT_FALSE(check_syn_cookie(kKey, flow(40001), 1000, cookie, clock));
  EXPECT_FALSE(check_syn_cookie(kKey, flow(), 1001, cookie, clock));
  SynCookieKey other = kKey;
  other[0] ^= 1;
  EXPECT_FALSE(check_syn_cookie(other, flow(), 1000, cookie, clock));
  const uint32_t other_class = (cookie & ~(7u << 24)) | (5u << 24);
  EXPECT_FALSE(check_syn_cookie(kKey, flow(), 1000, other_class, clock));
  for (uint32_t bit = 0; bit < 24; ++bit) {
    EXPECT_FALSE(check_syn_cookie(kKey, flow(), 1000, cookie ^ (1u << bit), clock)) << bit;
  }
}

TEST(SynCookie, CookiesOfNeighbouringFlowsLookUnrelated) {
  std::set<uint32_t> seen;
  for (uint16_t port = 1; port <= 1000; ++port) {
    seen.insert(make_syn_cookie(kKey, flow(port), 1000, 777, 0) & 0xffffff);
  }
  EXPECT_GE(seen.size(), 995u);  // 24 random bits: a handful of collisions among 1000 at most
}

TEST(SynCookie, MssClassIsTheLargestNotAboveTheClients) {
  EXPECT_EQ(syn_cookie_mss_class(0), 0);
  EXPECT_EQ(syn_cookie_mss_class(536), 0);
  EXPECT_EQ(syn_cookie_mss_class(1459), 5);
  EXPECT_EQ(syn_cookie_mss_class(1460), 6);
  EXPECT_EQ(syn_cookie_mss_class(9000), 7);
  EXPECT_EQ(kSynCookieMss[syn_cookie_mss_class(1440)], 1440);
}

TEST(SynCookie, KeysFromTheSameSecretAgreeAndRandomKeysDiffer) {
  const std::string secret = "a secret every node shares";
  const auto* bytes = reinterpret_cast<const uint8_t*>(secret.data());
  EXPECT_EQ(syn_cookie_key_from_secret(bytes, secret.size()),
            syn_cookie_key_from_secret(bytes, secret.size()));
  EXPECT_NE(syn_cookie_key_from_secret(bytes, secret.size() - 1),
            syn_cookie_key_from_secret(bytes, secret.size()));
  EXPECT_NE(random_syn_cookie_key(), random_syn_cookie_key());
}

}  // namespace
}  // namespace fairway
