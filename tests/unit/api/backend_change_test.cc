#include <gtest/gtest.h>

#include "api/api_server.h"

namespace fairway {
namespace {

TEST(BackendChange, AcceptsWeightAndDrain) {
  std::string error;
  auto c = parse_backend_change(R"({"weight": 3, "drain": true})", error);
  ASSERT_TRUE(c.has_value()) << error;
  EXPECT_EQ(c->weight, 3u);
  EXPECT_EQ(c->drain, true);
}

TEST(BackendChange, RejectsWithTheFieldNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not a JSON object"},
      {"[1]", "not a JSON object"},
      {"{}", "nothing to change"},
      {R"({"weight": -1})", "weight: -1 is not a weight"},
      {R"({"weight": 70000})", "weight: 70000 is not a weight"},
      {R"({"weight": "2"})", "weight: \"2\" is not a weight"},
      {R"({"drain": 1})", "drain: 1 is not a boolean"},
      {R"({"wieght": 2})", "unknown field 'wieght'; allowed: weight, drain"},
  };
  for (auto [body, expected] : cases) {
    std::string error;
    EXPECT_FALSE(parse_backend_change(body, error).has_value()) << body;
    EXPECT_NE(error.find(expected), std::string::npos) << body << " -> " << error;
  }
}

TEST(FlowRequest, ParsesFiltersAndNamesBadOnes) {
  std::string error;
  auto r = parse_flow_request({{"service", "web"}, {"backend", "[2001:2::11]:80"},
                               {"client", "198.18.0.2"}, {"limit", "0"}},
                              error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(*r->service, "web");
  EXPECT_EQ(*r->backend, *IpAddress::parse("2001:2::11"));
  EXPECT_EQ(*r->backend_port, 80);
  EXPECT_EQ(r->limit, 0u);
  auto plain = parse_flow_request({{"backend", "198.18.1.11"}}, error);
  ASSERT_TRUE(plain) << error;
  EXPECT_FALSE(plain->backend_port);
  EXPECT_EQ(plain->limit, 100u);
  auto v6 = parse_flow_request({{"backend", "2001:2::11"}}, error);
  ASSERT_TRUE(v6) << error;
  EXPECT_FALSE(v6->backend_port);

  const std::vector<std::pair<std::multimap<std::string, std::string>, const char*>> cases = {
      {{{"backend", "nonsense"}}, "backend: 'nonsense' is not an address"},
      {{{"backend", "198.18.1.11:99999"}}, "no valid port"},
      {{{"client", "x"}}, "client: 'x'"},
      {{{"limit", "-1"}}, "limit: '-1'"},
      {{{"limit", "10001"}}, "limit: '10001'"},
      {{{"sort", "age"}}, "unknown parameter 'sort'"},
  };
  for (const auto& [params, message] : cases) {
    error.clear();
    EXPECT_FALSE(parse_flow_request(params, error));
    EXPECT_NE(error.find(message), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace fairway
