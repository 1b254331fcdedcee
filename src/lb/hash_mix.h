#pragma once
// The 64-bit finaliser of MurmurHash3: good avalanche, no table, no seed. Shared by the flow and
// source hashes and Maglev's permutations, whose values nodes must agree on: never change it.
#include <cstdint>

namespace fairway {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace fairway
