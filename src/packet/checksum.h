#pragma once
// Internet checksums: full computation (RFC 1071) and incremental updates (RFC 1624).
// All 16-bit values here are in network byte order as they sit in the packet, unless noted.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "packet/addresses.h"

namespace fairway {

// One's-complement sum of the bytes, folded to 16 bits, not complemented. `initial` lets sums
// chain.
uint32_t checksum_partial(std::span<const uint8_t> bytes, uint32_t initial = 0);
uint16_t checksum_fold(uint32_t sum);  // fold and complement: the value to store

// Whether a 20-byte IPv4 header (no options) with its checksum in place sums to 0xffff, i.e. its
// checksum is right: the same answer as checksum_fold(checksum_partial(header, 20)) == 0, inline
// and without a loop for the parser's common case. `header` must hold 20 readable bytes.
inline bool ipv4_header_checksum_ok(const uint8_t* header) {
  uint64_t sum = 0;
  // Five 32-bit loads; GCC at -O2 leaves the loop rolled without the pragma.
#pragma GCC unroll 5
  for (size_t i = 0; i < 20; i += 4) {
    uint32_t word;
    std::memcpy(&word, header + i, 4);
    sum += word;
  }
  // End-around carries: 2^32 = 2^16 = 1 modulo 2^16 - 1, so every fold keeps the sum's value.
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

// Full checksum of an IPv4 header (the checksum field is treated as zero).
uint16_t ipv4_header_checksum(std::span<const uint8_t> header);
// Full TCP/UDP/ICMPv6 checksum including the pseudo-header of the enclosing IP packet.
// `l4` is the whole L4 segment; its checksum field is treated as zero at `checksum_offset`.
uint16_t l4_checksum_ipv4(const uint8_t* src4, const uint8_t* dst4, uint8_t protocol,
                          std::span<const uint8_t> l4, size_t checksum_offset);
uint16_t l4_checksum_ipv6(const uint8_t* src16, const uint8_t* dst16, uint8_t next_header,
                          std::span<const uint8_t> l4, size_t checksum_offset);
// ICMPv4 checksum (no pseudo-header) over the whole message, field at offset 2 treated as zero.
uint16_t icmpv4_checksum(std::span<const uint8_t> icmp);

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). All arguments in network byte order as stored.
uint16_t checksum_update16(uint16_t old_checksum, uint16_t old_value, uint16_t new_value);
uint16_t checksum_update32(uint16_t old_checksum, uint32_t old_value, uint32_t new_value);
// Update for replacing `length` bytes (even) from old_bytes to new_bytes.
uint16_t checksum_update_bytes(uint16_t old_checksum, const uint8_t* old_bytes,
                               const uint8_t* new_bytes, size_t length);

// checksum_update_bytes in two halves, for a change that more than one checksum covers (a NAT
// address: the IPv4 header's and the TCP/UDP one): the change is summed once and applied to each.
// Inline, so that a fixed length unrolls and the NAT fast path makes no call.
// RFC 1624's ~m + m' for replacing `length` bytes (even), 32 bits at a time with the carries
// deferred (~ of a 32-bit word is ~ of each of its 16-bit halves). Differences add up.
inline uint64_t checksum_difference(const uint8_t* old_bytes, const uint8_t* new_bytes,
                                    size_t length) {
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 4 <= length; i += 4) {
    uint32_t old_word, new_word;
    std::memcpy(&old_word, old_bytes + i, 4);
    std::memcpy(&new_word, new_bytes + i, 4);
    sum += uint32_t{~old_word};
    sum += new_word;
  }
  if (i + 2 <= length) {
    uint16_t old_half, new_half;
    std::memcpy(&old_half, old_bytes + i, 2);
    std::memcpy(&new_half, new_bytes + i, 2);
    sum += uint16_t(~old_half);
    sum += new_half;
  }
  return sum;
}
// HC' = ~(~HC + difference), folded to 16 bits.
inline uint16_t checksum_apply(uint16_t old_checksum, uint64_t difference) {
  uint64_t sum = uint16_t(~old_checksum) + difference;
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  uint32_t folded = static_cast<uint32_t>(sum);
  folded = (folded & 0xffff) + (folded >> 16);  // at most 0x1fffe
  folded = (folded & 0xffff) + (folded >> 16);  // at most 0xffff
  return static_cast<uint16_t>(~folded);
}

}  // namespace fairway
