#include "lb/maglev.h"

#include <algorithm>
#include <cassert>
#include <numeric>

namespace fairway {
namespace {

// Fixed seeds: every node must derive the same permutation from the same key, in every build.
constexpr uint64_t kOffsetSeed = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kSkipSeed = 0xbb67ae8584caa73bULL;

// MurmurHash3's 64-bit finaliser; FNV-1a alone leaves the high bits poorly mixed for short keys.
uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// Seeded FNV-1a 64 with a final mix: byte-wise, so it does not depend on endianness.
uint64_t key_hash(std::string_view key, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

// One back-end's progress through its permutation. The next preferred slot is kept rather than
// the permutation, so memory is O(N) and nothing is allocated while filling.
struct Cursor {
  uint64_t position;  // (offset + j * skip) % M for the next j
  uint64_t skip;
  uint64_t wrap_at;  // M - skip: from here on, adding skip wraps around
  uint64_t filled;
  uint64_t weight;
  uint16_t index;  // into the caller's span
};

// Orders by key so that the input order does not change the table; equal keys (a caller error)
// fall back to input order to stay deterministic.
std::vector<Cursor> make_cursors(std::span<const MaglevBackend> backends, uint32_t table_size) {
  std::vector<uint16_t> order(backends.size());
  std::iota(order.begin(), order.end(), uint16_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](uint16_t a, uint16_t b) { return backends[a].key < backends[b].key; });

  std::vector<Cursor> cursors;
  cursors.reserve(backends.size());
  for (uint16_t i : order) {
    const MaglevBackend& b = backends[i];
    if (b.weight == 0) continue;
    const uint64_t offset = key_hash(b.key, kOffsetSeed) % table_size;
    // M = 1 has a single slot; any skip works and M - 1 would divide by zero.
    const uint64_t skip = table_size > 1 ? key_hash(b.key, kSkipSeed) % (table_size - 1) + 1 : 1;
    cursors.push_back({offset, skip, table_size - skip, 0, b.weight, i});
  }
  return cursors;
}

// Which slots are taken, one bit each: 8 KB for M = 65537 stays in L1 while the 128 KB table
// would not, and the ~M ln M probes of a build are nearly all misses in the late rounds.
class SlotBitmap {
 public:
  explicit SlotBitmap(uint64_t size) : words_((size + 63) / 64, 0) {}
  bool taken(uint64_t i) const { return (words_[i / 64] >> (i % 64)) & 1; }
  void take(uint64_t i) { words_[i / 64] |= uint64_t{1} << (i % 64); }

 private:
  std::vector<uint64_t> words_;
};

// Steps one permutation: (pos + skip) % M for pos < M. Comparing against M - skip instead of
// adding first lets the compare and both candidates run in parallel; this step is the critical
// path of the build.
inline uint64_t next_position(uint64_t pos, const Cursor& c) {
  return pos >= c.wrap_at ? pos - c.wrap_at : pos + c.skip;
}

// Claims the back-end's next free preferred slot. Terminates because M is prime, so each
// permutation visits every slot, and the caller only asks while a slot is free.
void take_turn(Cursor& c, SlotBitmap& taken, std::vector<uint16_t>& table) {
  uint64_t pos = c.position;
  while (taken.taken(pos)) pos = next_position(pos, c);
  taken.take(pos);
  table[pos] = c.index;
  c.position = next_position(pos, c);
  ++c.filled;
}

}  // namespace

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

std::vector<uint16_t> build_maglev_table(std::span<const MaglevBackend> backends,
                                         uint32_t table_size) {
  std::vector<uint16_t> table(table_size, kNoBackend);
  // A non-prime M would leave some permutations short of a full cycle and could loop forever;
  // configuration validates M, so this only guards against a caller bug.
  assert(is_prime(table_size) && backends.size() < kNoBackend);
  if (!is_prime(table_size) || backends.size() >= kNoBackend) return table;

  std::vector<Cursor> cursors = make_cursors(backends, table_size);
  if (cursors.empty()) return table;
  uint64_t max_weight = 0;
  for (const Cursor& c : cursors) max_weight = std::max(max_weight, c.weight);

  // Weighted turns: in round r a back-end may take a turn while filled < r * weight / max_weight,
  // so shares follow weights and the heaviest back-end takes exactly one turn per round. Both
  // sides are below 2^64 because filled, r <= M < 2^32 and weight < 2^32.
  SlotBitmap taken(table_size);
  uint64_t remaining = table_size;
  for (uint64_t round = 1; remaining > 0; ++round) {
    for (Cursor& c : cursors) {
      if (c.filled * max_weight >= round * c.weight) continue;
      take_turn(c, taken, table);
      if (--remaining == 0) break;
    }
  }
  return table;
}

}  // namespace fairway
