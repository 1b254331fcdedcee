#pragma once
// Durations as operators write them, shared by the configuration loader and fairway-agent.
#include <cstdint>
#include <optional>
#include <string_view>

namespace fairway {

// "500ms", "30s", "15m", "1h", "1m30s": one or more <integer><unit> groups (units ms, s, m, h), in
// milliseconds. Saturates at UINT64_MAX rather than failing: a huge duration is out of range, which
// the caller says, not malformed. nullopt for anything else (empty, a sign, a fraction, no unit).
std::optional<uint64_t> parse_duration_units_ms(std::string_view text);

}  // namespace fairway
