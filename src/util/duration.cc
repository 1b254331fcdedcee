#include "util/duration.h"

#include <charconv>
#include <limits>

namespace fairway {

std::optional<uint64_t> parse_duration_units_ms(std::string_view text) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (text.empty()) return std::nullopt;
  uint64_t total = 0;
  while (!text.empty()) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
    if (ec == std::errc::result_out_of_range)
      number = kMax;
    else if (ec != std::errc() || end != text.data() + digits)
      return std::nullopt;
    text.remove_prefix(digits);
    uint64_t unit_ms = 0;
    if (text.starts_with("ms")) {
      unit_ms = 1, text.remove_prefix(2);
    } else if (text.starts_with("s")) {
      unit_ms = 1000, text.remove_prefix(1);
    } else if (text.starts_with("m")) {
      unit_ms = 60'000, text.remove_prefix(1);
    } else if (text.starts_with("h")) {
      unit_ms = 3'600'000, text.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    total = number > (kMax - total) / unit_ms ? kMax : total + number * unit_ms;
  }
  return total;
}

}  // namespace fairway
