#include "util/token_bucket.h"

#include <gtest/gtest.h>

namespace fairway {
namespace {

// Drains every token at each refill, refills every `step_ns` for `seconds`; returns tokens taken.
uint64_t drained(uint64_t rate, uint64_t burst, uint64_t step_ns, uint64_t seconds) {
  TokenBucket bucket(rate, burst, 0);
  bucket.take(bucket.tokens());  // start empty: count only what the time earns
  uint64_t taken = 0;
  for (uint64_t t = step_ns; t <= seconds * 1'000'000'000; t += step_ns) {
    bucket.refill(t);
    taken += bucket.tokens();
    bucket.take(bucket.tokens());
  }
  return taken;
}

// The rate holds whatever the refill period, including periods of a fraction of a token (the
// remainder is kept) and of many tokens.
TEST(TokenBucket, DeliversItsRateAtAnyRefillPeriod) {
  for (uint64_t step : {1'000ull, 200'000ull, 300'000ull, 1'000'000ull, 7'777'777ull}) {
    SCOPED_TRACE(step);
    // The time of the last refill: what 5000 a second earned by then, to within a token.
    const uint64_t last_ns = 10'000'000'000ull / step * step;
    const double expected = 5000.0 * static_cast<double>(last_ns) / 1e9;
    EXPECT_NEAR(static_cast<double>(drained(5000, 1000, step, 10)), expected, 1.0);
  }
  EXPECT_NEAR(static_cast<double>(drained(3000, 64, 500'000, 10)), 30'000, 2);
}

TEST(TokenBucket, StartsFullAndSavesNoMoreThanItsBurst) {
  TokenBucket bucket(1000, 32, 0);
  EXPECT_EQ(bucket.tokens(), 32u);
  bucket.refill(60'000'000'000);  // a minute idle
  EXPECT_EQ(bucket.tokens(), 32u);
  bucket.take(32);
  bucket.refill(60'010'000'000);  // 10 ms later: 10 tokens
  EXPECT_EQ(bucket.tokens(), 10u);
  bucket.refill(60'005'000'000);  // a clock that goes back earns nothing
  EXPECT_EQ(bucket.tokens(), 10u);
  bucket.take(100);
  EXPECT_EQ(bucket.tokens(), 0u);
}

}  // namespace
}  // namespace fairway
