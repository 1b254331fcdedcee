#include "packet/addresses.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace fairway {
namespace {

TEST(MacAddress, ParsesAndPrints) {
  auto mac = MacAddress::parse("02:0A:ff:00:10:9b");
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->bytes, (std::array<uint8_t, 6>{0x02, 0x0a, 0xff, 0x00, 0x10, 0x9b}));
  EXPECT_EQ(mac->to_string(), "02:0a:ff:00:10:9b");
  EXPECT_FALSE(mac->is_zero());
  EXPECT_TRUE(MacAddress::parse("00:00:00:00:00:00")->is_zero());
  EXPECT_TRUE(MacAddress{}.is_zero());
}

TEST(MacAddress, RejectsMalformedText) {
  for (const char* text :
       {"", "02:00:00:00:00", "02:00:00:00:00:0", "02:00:00:00:00:001", "02-00-00-00-00-01",
        "02:00:00:00:00:0g", "0200:00:00:00:01:", "02:00:00:00:00:01 ", " 02:00:00:00:00:01"}) {
    EXPECT_FALSE(MacAddress::parse(text)) << '"' << text << '"';
  }
}

struct IpCase {
  std::string text;
  bool v4;
  std::string printed;
  std::array<uint8_t, 16> bytes;
};

TEST(IpAddress, ParsesBothFamiliesIntoOneShape) {
  const std::vector<IpCase> cases = {
      {"198.18.0.1", true, "198.18.0.1", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1}},
      {"0.0.0.0", true, "0.0.0.0", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}},
      {"255.255.255.255",
       true,
       "255.255.255.255",
       {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255}},
      {"2001:2::1", false, "2001:2::1", {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
      {"2001:DB8::A",
       false,
       "2001:db8::a",
       {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a}},
      {"::", false, "::", {}},
      {"::ffff:10.1.2.3",
       true,
       "10.1.2.3",
       {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3}},
  };
  for (const IpCase& c : cases) {
    SCOPED_TRACE(c.text);
    auto a = IpAddress::parse(c.text);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->is_v4(), c.v4);
    EXPECT_EQ(a->to_string(), c.printed);
    EXPECT_EQ(a->bytes, c.bytes);
  }
}

TEST(IpAddress, FromRawBytes) {
  const uint8_t four[] = {192, 0, 2, 33};
  IpAddress v4 = IpAddress::from_v4(four);
  EXPECT_TRUE(v4.is_v4());
  EXPECT_EQ(v4, *IpAddress::parse("192.0.2.33"));
  EXPECT_EQ(std::memcmp(v4.v4_bytes(), four, 4), 0);
  uint8_t sixteen[16] = {0xfe, 0x80};
  sixteen[15] = 1;
  IpAddress v6 = IpAddress::from_v6(sixteen);
  EXPECT_FALSE(v6.is_v4());
  EXPECT_EQ(v6.to_string(), "fe80::1");
}

TEST(IpAddress, RejectsMalformedText) {
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.4/24", "a.b.c.d",
                           "2001:::1", "2001:db8::g", "1:2:3:4:5:6:7:8:9", " 1.2.3.4", "1.2.3.4 ",
                           "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001"}) {
    EXPECT_FALSE(IpAddress::parse(text)) << '"' << text << '"';
  }
}

TEST(IpAddress, OrdersAndCompares) {
  EXPECT_LT(*IpAddress::parse("10.0.0.1"), *IpAddress::parse("10.0.0.2"));
  EXPECT_LT(*IpAddress::parse("::1"), *IpAddress::parse("1.0.0.0"));  // mapped v4 sorts high
  EXPECT_NE(*IpAddress::parse("::1"), *IpAddress::parse("::2"));
}

struct PrefixCase {
  std::string prefix;
  std::string inside;
  std::string outside;
  uint8_t mapped_length;
};

TEST(IpPrefix, ContainsTable) {
  const std::vector<PrefixCase> cases = {
      {"198.18.0.0/24", "198.18.0.255", "198.18.1.0", 120},
      {"198.18.0.1/32", "198.18.0.1", "198.18.0.2", 128},
      {"10.0.0.0/9", "10.127.255.255", "10.128.0.0", 105},
      {"0.0.0.0/0", "255.1.2.3", "2001:db8::1", 96},
      {"2001:db8::/32", "2001:db8:ffff::1", "2001:db9::", 32},
      {"2001:db8::/33", "2001:db8:7fff::", "2001:db8:8000::", 33},
      {"::/0", "ffff::1", "1.2.3.4", 0},
      {"2001:db8::1/128", "2001:db8::1", "2001:db8::2", 128},
  };
  for (const PrefixCase& c : cases) {
    SCOPED_TRACE(c.prefix);
    auto p = IpPrefix::parse(c.prefix);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->contains(*IpAddress::parse(c.inside)));
    EXPECT_FALSE(p->contains(*IpAddress::parse(c.outside)));
    EXPECT_EQ(p->mapped_length(), c.mapped_length);
    EXPECT_EQ(p->to_string(), c.prefix);
  }
}

TEST(IpPrefix, AddressAloneIsAHostPrefix) {
  EXPECT_EQ(IpPrefix::parse("192.0.2.1")->length, 32);
  EXPECT_EQ(IpPrefix::parse("2001:db8::1")->length, 128);
  EXPECT_EQ(IpPrefix::parse("192.0.2.1")->to_string(), "192.0.2.1/32");
}

TEST(IpPrefix, RejectsMalformedText) {
  for (const char* text : {"1.2.3.4/33", "::/129", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/2a", "/24",
                           "1.2.3/24", "1.2.3.4/24/1", "1.2.3.4/ 24"}) {
    EXPECT_FALSE(IpPrefix::parse(text)) << '"' << text << '"';
  }
}

TEST(EndpointText, BothWays) {
  EXPECT_EQ(endpoint_text(*IpAddress::parse("198.18.1.11"), 80), "198.18.1.11:80");
  EXPECT_EQ(endpoint_text(*IpAddress::parse("2001:2::11"), 8080), "[2001:2::11]:8080");
  auto v4 = parse_endpoint_text("198.18.1.11:80");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->address, *IpAddress::parse("198.18.1.11"));
  EXPECT_EQ(v4->port, 80);
  auto v6 = parse_endpoint_text("[2001:2::11]:8080");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->address, *IpAddress::parse("2001:2::11"));
  EXPECT_EQ(v6->port, 8080);
  auto bare6 = parse_endpoint_text("2001:2::11");
  ASSERT_TRUE(bare6);
  EXPECT_FALSE(bare6->port);
  EXPECT_FALSE(parse_endpoint_text("198.18.1.11")->port);
  const char* problem = "";
  EXPECT_FALSE(parse_endpoint_text("198.18.1.11:99999", &problem));
  EXPECT_STREQ(problem, "has no valid port");
  for (const char* bad : {"198.18.1.11:", "198.18.1.11:0", "198.18.1.11:x", "[2001:2::11]:"}) {
    EXPECT_FALSE(parse_endpoint_text(bad, &problem)) << bad;
    EXPECT_STREQ(problem, "has no valid port") << bad;
  }
  for (const char* bad : {"", "be1", "be1:80", "[2001:2::11]", "[198.18.1.11:80", "1.2.3:80"}) {
    EXPECT_FALSE(parse_endpoint_text(bad, &problem)) << bad;
    EXPECT_STREQ(problem, "is not an address") << bad;
  }
}

}  // namespace
}  // namespace fairway

