#include <gtest/gtest.h>

#include "api/api_server.h"

namespace fairway {
namespace {

TEST(BackendChange, AcceptsWeightAndDrain) {
  auto c = parse_backend_change(R"({"weight": 3, "drain": true})");
  ASSERT_TRUE(c) << c.error().message;
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
    Result<BackendChange> change = parse_backend_change(body);
    ASSERT_FALSE(change) << body;
    EXPECT_NE(change.error().message.find(expected), std::string::npos)
        << body << " -> " << change.error().message;
  }
}

TEST(FlowRequest, ParsesFiltersAndNamesBadOnes) {
  auto r = parse_flow_request({{"service", "web"},
                               {"backend", "[2001:2::11]:80"},
                               {"client", "198.18.0.2"},
                               {"limit", "0"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r->service, "web");
  EXPECT_EQ(*r->backend, *IpAddress::parse("2001:2::11"));
  EXPECT_EQ(*r->backend_port, 80);
  EXPECT_EQ(r->limit, 0u);
  auto plain = parse_flow_request({{"backend", "198.18.1.11"}});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->backend_port);
  EXPECT_EQ(plain->limit, 100u);
  auto v6 = parse_flow_request({{"backend", "2001:2::11"}});
  ASSERT_TRUE(v6);
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
    Result<FlowRequest> request = parse_flow_request(params);
    ASSERT_FALSE(request) << message;
    EXPECT_NE(request.error().message.find(message), std::string::npos) << request.error().message;
  }
}

}  // namespace
}  // namespace fairway
