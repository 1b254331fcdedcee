#pragma once
// The 5-tuple that identifies a flow, and its hash. The hash has a fixed seed on purpose:
// every Fairway node with the same configuration must make the same Maglev choice for a flow.
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lb/hash_mix.h"
#include "packet/addresses.h"

namespace fairway {

struct FlowKey {
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;  // host byte order; ICMP echo uses the identifier, else 0
  uint16_t dst_port = 0;
  uint8_t protocol = 0;
  uint8_t pad[3] = {0, 0, 0};  // always zero, so keys compare and hash as bytes
  // Two 16-byte compares and one 8-byte one: keys are compared on every flow-table probe.
  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    const auto* x = reinterpret_cast<const unsigned char*>(&a);
    const auto* y = reinterpret_cast<const unsigned char*>(&b);
    uint64_t x_tail, y_tail;
    std::memcpy(&x_tail, x + 32, 8);
    std::memcpy(&y_tail, y + 32, 8);
#if defined(__SSE2__)
    const __m128i addresses_equal =
        _mm_and_si128(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x)),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(y))),
                      _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16)),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(y + 16))));
    return _mm_movemask_epi8(addresses_equal) == 0xffff && x_tail == y_tail;
#else
    return std::memcmp(x, y, 32) == 0 && x_tail == y_tail;
#endif
  }
};
static_assert(sizeof(FlowKey) == 40);

// The hash of an address alone, for schedulers that keep a client on one back-end. Fixed like
// flow_hash: nodes with the same configuration must agree.
inline uint64_t source_hash(const IpAddress& address) {
  uint64_t high, low;
  std::memcpy(&high, address.bytes.data(), 8);
  std::memcpy(&low, address.bytes.data() + 8, 8);
  return mix64(mix64(high ^ 0x9e3779b97f4a7c15ULL) ^ low);
}

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
  // Unrolled: at -O2 GCC keeps the five rounds as a loop over a stack copy of the words (six
  // instructions of loop and copy per round for three of work).
#pragma GCC unroll 5
  for (uint64_t w : words) {
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h = (h << 31) | (h >> 33);
  }
  return mix64(h);
}

}  // namespace fairway
