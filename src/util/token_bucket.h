#pragma once
// A token bucket over a nanosecond clock the caller passes in: `rate` tokens a second, at most
// `burst` saved up. Used by the exception path's rate-limited classes; the clock is a parameter
// so that tests run it on simulated time.
#include <algorithm>
#include <cstdint>

namespace fairway {

class TokenBucket {
 public:
  // Starts full. `rate` > 0.
  TokenBucket(uint64_t rate, uint64_t burst, uint64_t now_ns)
      : rate_(rate), burst_(burst), tokens_(burst), last_ns_(now_ns) {}

  // Adds what the time since the last refill earned.
  void refill(uint64_t now_ns) {
    if (now_ns <= last_ns_) return;
    const uint64_t earned = (now_ns - last_ns_) * rate_ / kNsPerSecond;
    // Advance by the time the earned tokens are worth, not to now: the remainder of an unfinished
    // token is kept for the next refill (dropping it lost up to a token a refill: a third of the
    // rate when refills come about one and a half tokens' time apart).
    last_ns_ += earned * kNsPerSecond / rate_;
    tokens_ = std::min(burst_, tokens_ + earned);
  }
  uint64_t tokens() const { return tokens_; }
  // Takes `n` tokens (n <= tokens()).
  void take(uint64_t n) { tokens_ -= std::min(n, tokens_); }

 private:
  static constexpr uint64_t kNsPerSecond = 1'000'000'000;
  uint64_t rate_;
  uint64_t burst_;
  uint64_t tokens_;
  uint64_t last_ns_;
};

}  // namespace fairway
