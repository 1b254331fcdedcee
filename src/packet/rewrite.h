#pragma once
// In-place rewrites of a parsed frame. Checksums are updated incrementally (RFC 1624), so a
// rewritten packet is valid exactly when the original was. Callers guarantee that `p` came from
// parse_frame() over the same bytes and that the address families match.
#include <cstdint>
#include <cstring>
#include <span>

#include "packet/addresses.h"
#include "packet/parse.h"

namespace fairway {

// Inline: every forwarded packet rewrites both MACs, and the call cost more than the copies.
inline void rewrite_macs(std::span<uint8_t> frame, const MacAddress& src, const MacAddress& dst) {
  std::memcpy(frame.data(), dst.bytes.data(), 6);      // Ethernet destination, offset 0
  std::memcpy(frame.data() + 6, src.bytes.data(), 6);  // Ethernet source, offset 6
}

// Destination NAT: dst address and dst port (TCP/UDP), IPv4 header checksum and L4 checksum.
// A UDP-over-IPv4 checksum of zero (none) stays zero.
void nat_rewrite_destination(std::span<uint8_t> frame, const ParsedPacket& p,
                             const IpAddress& new_dst, uint16_t new_dst_port_host);
// Reverse NAT of a back-end's reply: src address and src port.
void nat_rewrite_source(std::span<uint8_t> frame, const ParsedPacket& p,
                        const IpAddress& new_src, uint16_t new_src_port_host);

// An ICMP error about a NAT flow, on its way to the back-end: the outer destination becomes the
// back-end and the quoted packet's source becomes back-end:port (as the back-end sent it).
// Outer and quoted IP checksums are updated, the quoted L4 checksum when it was quoted, and the
// ICMP checksum is recomputed over the message.
void nat_rewrite_icmp_error(std::span<uint8_t> frame, const ParsedPacket& p,
                            const QuotedPacket& quote, const IpAddress& backend,
                            uint16_t backend_port_host);

// Decrements IPv4 TTL (with checksum update) or IPv6 hop limit. Returns false, leaving the
// packet untouched, when the packet must not be forwarded (TTL/hop limit <= 1).
bool decrement_hop_limit(std::span<uint8_t> frame, const ParsedPacket& p);

}  // namespace fairway
