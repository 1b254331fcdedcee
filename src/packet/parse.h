#pragma once
// Parsing of one Ethernet frame into offsets and the fields the pipeline decides on.
// Never reads outside the span, never throws, never allocates.
#include <cstddef>
#include <cstdint>
#include <span>

#include "packet/addresses.h"
#include "packet/drop_reason.h"

namespace fairway {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

enum class L3Kind : uint8_t { other, arp, ipv4, ipv6 };

// What the pipeline needs to know about a frame. Offsets are from the start of the frame.
struct ParsedPacket {
  L3Kind l3 = L3Kind::other;
  uint16_t ethertype = 0;
  uint16_t l3_offset = 0;
  uint16_t l4_offset = 0;   // first byte after the IP header and any IPv6 extension headers
  uint16_t ip_end = 0;      // one past the last byte of the IP datagram (Ethernet padding excluded)
  uint8_t l4_protocol = 0;  // TCP, UDP, ICMP, ICMPv6 or whatever the last next-header said
  uint8_t hop_limit = 0;    // IPv4 TTL or IPv6 hop limit
  bool is_fragment = false;        // any fragment (IPv4 MF/offset, IPv6 fragment header)
  bool is_later_fragment = false;  // offset != 0: no L4 header present
  IpAddress src;
  IpAddress dst;
  // Valid when l4_protocol is TCP or UDP and the packet is not a later fragment.
  uint16_t src_port = 0;  // host byte order
  uint16_t dst_port = 0;  // host byte order
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;  // host byte order
  uint32_t tcp_ack = 0;  // host byte order
  uint16_t l4_payload_length = 0;  // TCP/UDP payload bytes (for SEG.LEN of resets)
  // Valid when l4_protocol is ICMP or ICMPv6.
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  friend bool operator==(const ParsedPacket&, const ParsedPacket&) = default;
};

// Parses Ethernet (no VLAN), ARP (recognised only), IPv4 with options, IPv6 with extension
// headers (hop-by-hop, routing, fragment, destination options, AH), then TCP, UDP, ICMP, ICMPv6.
// IPv4 header checksums are verified. Returns DropReason::none on success.
// Unknown ethertypes return none with l3 = L3Kind::other (the pipeline hands them to the kernel).
// `ipv4_checksum_good`: the NIC verified the IPv4 header checksum and found it right (DPDK's
// RTE_MBUF_F_RX_IP_CKSUM_GOOD); the fast path then skips its own check (~20 instructions). The
// general parser still verifies, so only the work changes, never the result.
DropReason parse_frame(std::span<const uint8_t> frame, ParsedPacket& out,
                       bool ipv4_checksum_good = false);

// parse_frame without its fast path for the common frame (Ethernet, IPv4 without options, not a
// fragment, TCP or UDP): the general parser alone. Same result for every frame; the tests and the
// parse fuzzer compare the two.
DropReason parse_frame_general(std::span<const uint8_t> frame, ParsedPacket& out);

// The header quoted inside an ICMP / ICMPv6 error (destination unreachable, time exceeded,
// packet too big, parameter problem): its addresses and ports as sent by the original sender.
struct QuotedPacket {
  uint16_t l3_offset = 0;  // offset of the quoted IP header in the frame
  uint16_t l4_offset = 0;  // offset of the quoted L4 header in the frame
  uint16_t end = 0;        // one past the last quoted byte
  uint8_t l4_protocol = 0;
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;  // host byte order
  uint16_t dst_port = 0;
};

// True for the ICMP / ICMPv6 types that quote an offending packet.
bool is_icmp_error(const ParsedPacket& p);

// Parses the quoted packet of an ICMP error; needs at least the quoted IP header and 8 bytes of
// L4 header (enough for both ports). Returns DropReason::none on success.
DropReason parse_icmp_quote(std::span<const uint8_t> frame, const ParsedPacket& p,
                            QuotedPacket& out);

}  // namespace fairway
