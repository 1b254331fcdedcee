#pragma once
// Weighted Maglev (Eisenbud et al., NSDI 2016) as a pure function: back-ends and weights in,
// lookup table out. Back-ends are identified by a stable key (e.g. "198.18.1.10:80"), so the
// same set gives the same table on every node and a change moves as few entries as possible.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace fairway {

inline constexpr uint32_t kDefaultMaglevTableSize = 65537;
inline constexpr uint16_t kNoBackend = 0xFFFF;

struct MaglevBackend {
  std::string_view key;  // stable identity; drives the permutation
  uint32_t weight = 1;   // relative; 0 = gets no entries
};

bool is_prime(uint32_t n);

// Returns `table_size` entries, each an index into `backends`, or kNoBackend everywhere when no
// back-end has a weight above zero. Each back-end's share of entries is proportional to its
// weight. Requires table_size prime and backends.size() < kNoBackend.
std::vector<uint16_t> build_maglev_table(std::span<const MaglevBackend> backends,
                                         uint32_t table_size = kDefaultMaglevTableSize);

}  // namespace fairway
