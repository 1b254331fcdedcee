#include "agent/arguments.h"

#include <gtest/gtest.h>

namespace fairway::agent {
namespace {

TEST(HostPort, Ipv4NameAndBracketedIpv6) {
  auto v4 = parse_host_port("127.0.0.1:9180");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 9180);
  auto v6 = parse_host_port("[2001:2::1]:9180");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "2001:2::1");
  EXPECT_EQ(v6->port, 9180);
  auto name = parse_host_port("lb.example:80");
  ASSERT_TRUE(name);
  EXPECT_EQ(name->host, "lb.example");
  EXPECT_EQ(host_port_text(*v6), "[2001:2::1]:9180");
  EXPECT_EQ(host_port_text(*v4), "127.0.0.1:9180");
}

TEST(HostPort, Malformed) {
  for (const char* text :
       {"", "127.0.0.1", "127.0.0.1:", ":9180", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:80x",
        "2001:2::1:9180", "[2001:2::1]", "[2001:2::1]9180", "[]:80", "[1.2.3.4]:80"}) {
    EXPECT_FALSE(parse_host_port(text)) << text;
  }
}

TEST(HttpUrl, DefaultsAndIpv6) {
  auto plain = parse_http_url("http://127.0.0.1/fairway-stats");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->endpoint.host, "127.0.0.1");
  EXPECT_EQ(plain->endpoint.port, 80);
  EXPECT_EQ(plain->path, "/fairway-stats");
  auto bare = parse_http_url("http://localhost:8080");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->endpoint.port, 8080);
  EXPECT_EQ(bare->path, "/");
  auto v6 = parse_http_url("http://[::1]:8080/stats?window=5");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->endpoint.host, "::1");
  EXPECT_EQ(v6->path, "/stats?window=5");
  auto v6_default_port = parse_http_url("http://[fe80::a]/s");
  ASSERT_TRUE(v6_default_port);
  EXPECT_EQ(v6_default_port->endpoint.port, 80);
  EXPECT_FALSE(parse_http_url("https://127.0.0.1/"));
  EXPECT_FALSE(parse_http_url("127.0.0.1:80/"));
  EXPECT_FALSE(parse_http_url("http:///x"));
}

TEST(Duration, UnitsAndBareSeconds) {
  EXPECT_EQ(parse_duration_ms("500ms"), 500u);
  EXPECT_EQ(parse_duration_ms("1s"), 1000u);
  EXPECT_EQ(parse_duration_ms("2"), 2000u);
  EXPECT_EQ(parse_duration_ms("1m30s"), 90'000u);
  EXPECT_EQ(parse_duration_ms("1h"), 3'600'000u);
  for (const char* text :
       {"", "0", "0ms", "1.5s", "-1s", "s", "10x", "1s ", "99999999999999999999"}) {
    EXPECT_FALSE(parse_duration_ms(text)) << text;
  }
}

TEST(Address, Ipv4AndIpv6Only) {
  EXPECT_TRUE(is_ip_address("198.18.1.11"));
  EXPECT_TRUE(is_ip_address("2001:2::11"));
  EXPECT_FALSE(is_ip_address("be1"));
  EXPECT_FALSE(is_ip_address("198.18.1.11:80"));
  EXPECT_FALSE(is_ip_address("[2001:2::11]"));
}

}  // namespace
}  // namespace fairway::agent
