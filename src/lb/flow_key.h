#pragma once
// The 5-tuple that identifies a flow, and its hash. The hash has a fixed seed on purpose:
// every Fairway node with the same configuration must make the same Maglev choice for a flow.
#include <bit>
#include <cstdint>
#include <cstring>

#include "packet/addresses.h"

namespace fairway {

struct FlowKey {
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;  // host byte order; ICMP echo uses the identifier, else 0
  uint16_t dst_port = 0;
  uint8_t protocol = 0;
  uint8_t pad[3] = {0, 0, 0};  // always zero, so keys compare and hash as bytes
  // Word-wise: keys are compared on every flow-table probe.
  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    uint64_t x[5], y[5];
    std::memcpy(x, &a, sizeof x);
    std::memcpy(y, &b, sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
  }
};
static_assert(sizeof(FlowKey) == 40);

namespace detail {
// 64-bit mixer of MurmurHash3's finaliser; good avalanche, no table, no seed.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
}  // namespace detail

// The hash of the key's five 64-bit words (its bytes, little-endian). One multiply and rotate per
// word, one full avalanche at the end: a fifth of mixing every word, and every input bit still
// reaches every output bit (the flow table and Maglev both use all 64).
// Inline, with the last word (ports, protocol, padding) assembled from the fields rather than
// loaded: the pipeline hashes a key it has just written field by field, and an 8-byte load of
// three narrower stores still in the store buffer cannot be forwarded and waits for them.
inline uint64_t flow_hash(const FlowKey& key) {
  static_assert(std::endian::native == std::endian::little, "the hash is defined on LE words");
  uint64_t words[5];
  std::memcpy(words, key.src.bytes.data(), 16);
  std::memcpy(words + 2, key.dst.bytes.data(), 16);
  words[4] = uint64_t{key.src_port} | uint64_t{key.dst_port} << 16 | uint64_t{key.protocol} << 32;
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (uint64_t w : words) {
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h = (h << 31) | (h >> 33);
  }
  return detail::mix64(h);
}

}  // namespace fairway
