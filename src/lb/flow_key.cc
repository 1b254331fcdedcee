#include "lb/flow_key.h"

#include <cstring>

namespace fairway {
namespace {

// 64-bit mixer of MurmurHash3's finaliser; good avalanche, no table, no seed.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

// One multiply and rotate per word, one full avalanche at the end: a fifth of mixing every word,
// and every input bit still reaches every output bit (the flow table and Maglev both use all 64).
uint64_t flow_hash(const FlowKey& key) {
  uint64_t words[sizeof(FlowKey) / 8];
  std::memcpy(words, &key, sizeof words);
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (uint64_t w : words) {
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h = (h << 31) | (h >> 33);
  }
  return mix64(h);
}

}  // namespace fairway
