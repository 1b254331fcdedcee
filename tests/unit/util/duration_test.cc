#include "util/duration.h"

#include <gtest/gtest.h>

#include <limits>

namespace fairway {
namespace {

TEST(Duration, UnitGroups) {
  EXPECT_EQ(parse_duration_units_ms("500ms"), 500u);
  EXPECT_EQ(parse_duration_units_ms("30s"), 30'000u);
  EXPECT_EQ(parse_duration_units_ms("15m"), 900'000u);
  EXPECT_EQ(parse_duration_units_ms("1h"), 3'600'000u);
  EXPECT_EQ(parse_duration_units_ms("1m30s"), 90'000u);
  EXPECT_EQ(parse_duration_units_ms("1h1m1s1ms"), 3'661'001u);
  EXPECT_EQ(parse_duration_units_ms("0ms"), 0u);
}

TEST(Duration, HugeSaturates) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(parse_duration_units_ms("99999999999999999999h"), kMax);
  EXPECT_EQ(parse_duration_units_ms("9999999999999999h"), kMax);
}

TEST(Duration, Malformed) {
  for (const char* text : {"", "30", "s", "1.5s", "-1s", "+1s", "10x", "1s ", " 1s", "1 s", "ms"}) {
    EXPECT_FALSE(parse_duration_units_ms(text)) << text;
  }
}

}  // namespace
}  // namespace fairway
