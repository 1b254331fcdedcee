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

}  // namespace
}  // namespace fairway
