#pragma once
// Internet checksums: full computation (RFC 1071) and incremental updates (RFC 1624).
// All 16-bit values here are in network byte order as they sit in the packet, unless noted.
#include <cstddef>
#include <cstdint>
#include <span>

#include "packet/addresses.h"

namespace fairway {

// One's-complement sum of the bytes, folded to 16 bits, not complemented. `initial` lets sums chain.
uint32_t checksum_partial(std::span<const uint8_t> bytes, uint32_t initial = 0);
uint16_t checksum_fold(uint32_t sum);  // fold and complement: the value to store

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

}  // namespace fairway
