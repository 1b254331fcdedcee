#include "packet/reply.h"

#include <algorithm>
#include <cstring>

#include "packet/byte_order.h"
#include "packet/checksum.h"
#include "packet/frame_writer.h"
#include "packet/headers.h"

namespace fairway {
namespace {

constexpr uint8_t kReplyHopLimit = 64;
// RFC 1812 4.3.2.3 and RFC 4443 2.4(c): an ICMP error must fit the minimum MTU of its family.
constexpr size_t kIpv4ErrorLimit = 576;
constexpr size_t kIpv6ErrorLimit = 1280;
constexpr size_t kIcmpErrorHeaderSize = 8;

bool is_ip(const ParsedPacket& p) {
  return p.l3 == L3Kind::ipv4 || p.l3 == L3Kind::ipv6;
}

size_t ip_header_size(const ParsedPacket& p) {
  return p.l3 == L3Kind::ipv4 ? ipv4::kMinSize : ipv6::kSize;
}

uint8_t icmp_protocol(const ParsedPacket& p) {
  return p.l3 == L3Kind::ipv4 ? kProtoIcmp : kProtoIcmpv6;
}

// A header without options or extension headers, from the packet's destination back to its
// source. ID 0 with DF for IPv4: replies are atomic datagrams, whose ID RFC 6864 leaves free.
void write_reply_ip_header(uint8_t* ip, const ParsedPacket& p, uint8_t protocol,
                           size_t payload_length) {
  write_ip_header(ip, p.dst, p.src, protocol, payload_length, kReplyHopLimit);
}

// Checksum of an L4 message written after a header from write_reply_ip_header().
uint16_t reply_l4_checksum(const uint8_t* ip, const ParsedPacket& p, uint8_t protocol,
                           std::span<const uint8_t> l4, size_t checksum_offset) {
  if (p.l3 == L3Kind::ipv6) {
    return l4_checksum_ipv6(ip + ipv6::kSrc, ip + ipv6::kDst, protocol, l4, checksum_offset);
  }
  if (protocol == kProtoIcmp) return icmpv4_checksum(l4);
  return l4_checksum_ipv4(ip + ipv4::kSrc, ip + ipv4::kDst, protocol, l4, checksum_offset);
}

// RFC 9293 3.10.7.1: SYN and FIN occupy sequence space like data.
uint32_t segment_length(const ParsedPacket& p) {
  uint32_t length = p.l4_payload_length;
  if (p.tcp_flags & kTcpSyn) ++length;
  if (p.tcp_flags & kTcpFin) ++length;
  return length;
}

void write_tcp_reset(uint8_t* tcp_header, const ParsedPacket& p) {
  std::memset(tcp_header, 0, tcp::kMinSize);
  store_be16(tcp_header + tcp::kSrcPort, p.dst_port);
  store_be16(tcp_header + tcp::kDstPort, p.src_port);
  if (p.tcp_flags & kTcpAck) {
    store_be32(tcp_header + tcp::kSeq, p.tcp_ack);
    tcp_header[tcp::kFlags] = kTcpRst;
  } else {
    store_be32(tcp_header + tcp::kAck, p.tcp_seq + segment_length(p));
    tcp_header[tcp::kFlags] = kTcpRst | kTcpAck;
  }
  tcp_header[tcp::kDataOffset] = (tcp::kMinSize / 4) << 4;
}

bool is_echo_request(const ParsedPacket& p) {
  if (p.l3 == L3Kind::ipv4) return p.l4_protocol == kProtoIcmp && p.icmp_type == icmp::kEchoRequest;
  return p.l3 == L3Kind::ipv6 && p.l4_protocol == kProtoIcmpv6 &&
         p.icmp_type == icmpv6::kEchoRequest;
}

// Multicast, broadcast (and reserved class E) or unspecified addresses never get an error back.
bool is_group_or_unspecified(const IpAddress& a) {
  if (a.is_v4()) {
    const uint8_t* b = a.v4_bytes();
    return b[0] >= 224 || (b[0] | b[1] | b[2] | b[3]) == 0;
  }
  return a.bytes[0] == 0xff || a == IpAddress{};
}

// RFC 1122 3.2.2 and RFC 4443 2.4(e): no error about an error, a later fragment or a packet
// sent to or from a group, so that errors cannot multiply.
bool may_send_icmp_error(const ParsedPacket& p) {
  return is_ip(p) && !p.is_later_fragment && !is_icmp_error(p) && !is_group_or_unspecified(p.src) &&
         !is_group_or_unspecified(p.dst);
}

}  // namespace

size_t build_tcp_reset(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p) {
  if (!is_ip(p) || p.l4_protocol != kProtoTcp || p.is_later_fragment) return 0;
  if (p.tcp_flags & kTcpRst) return 0;  // RFC 9293: a reset is never answered
  const size_t l4 = eth::kSize + ip_header_size(p);
  const size_t length = l4 + tcp::kMinSize;
  if (length > buffer.size() || frame_length > buffer.size()) return 0;
  uint8_t* f = buffer.data();
  swap_macs(f);
  write_reply_ip_header(f + eth::kSize, p, kProtoTcp, tcp::kMinSize);
  write_tcp_reset(f + l4, p);
  store_raw16(f + l4 + tcp::kChecksum, reply_l4_checksum(f + eth::kSize, p, kProtoTcp,
                                                         {f + l4, tcp::kMinSize}, tcp::kChecksum));
  return length;
}

size_t build_icmp_echo_reply(std::span<uint8_t> buffer, size_t frame_length,
                             const ParsedPacket& p) {
  // A fragment holds only part of the message, whose checksum we could not keep right.
  if (!is_echo_request(p) || p.is_fragment) return 0;
  if (p.ip_end > buffer.size() || frame_length > buffer.size()) return 0;
  const size_t message_length = p.ip_end - p.l4_offset;
  const size_t l4 = eth::kSize + ip_header_size(p);
  uint8_t* f = buffer.data();
  std::memmove(f + l4, f + p.l4_offset, message_length);  // drops options / extension headers
  swap_macs(f);
  write_reply_ip_header(f + eth::kSize, p, icmp_protocol(p), message_length);
  // Only the type changes: the ICMPv6 pseudo-header sums the same with the addresses swapped
  // and the message length kept, so an incremental update is exact.
  uint8_t* message = f + l4;
  uint16_t old_word = load_raw16(message);
  message[icmp::kType] = p.l3 == L3Kind::ipv4 ? icmp::kEchoReply : icmpv6::kEchoReply;
  uint16_t checksum = load_raw16(message + icmp::kChecksum);
  store_raw16(message + icmp::kChecksum,
              checksum_update16(checksum, old_word, load_raw16(message)));
  return l4 + message_length;
}

size_t build_icmp_port_unreachable(std::span<uint8_t> buffer, size_t frame_length,
                                   const ParsedPacket& p) {
  if (!may_send_icmp_error(p)) return 0;
  const bool v4 = p.l3 == L3Kind::ipv4;
  const size_t ip_size = ip_header_size(p);
  const size_t limit = (v4 ? kIpv4ErrorLimit : kIpv6ErrorLimit) - ip_size - kIcmpErrorHeaderSize;
  const size_t quoted = std::min<size_t>(p.ip_end - p.l3_offset, limit);
  const size_t l4 = eth::kSize + ip_size;
  const size_t message_length = kIcmpErrorHeaderSize + quoted;
  if (l4 + message_length > buffer.size() || frame_length > buffer.size()) return 0;
  uint8_t* f = buffer.data();
  std::memmove(f + l4 + kIcmpErrorHeaderSize, f + p.l3_offset, quoted);
  swap_macs(f);
  write_reply_ip_header(f + eth::kSize, p, icmp_protocol(p), message_length);
  uint8_t* message = f + l4;
  std::memset(message, 0, kIcmpErrorHeaderSize);
  message[icmp::kType] = v4 ? icmp::kDestinationUnreachable : icmpv6::kDestinationUnreachable;
  message[icmp::kCode] = v4 ? icmp::kPortUnreachable : icmpv6::kPortUnreachable;
  store_raw16(message + icmp::kChecksum,
              reply_l4_checksum(f + eth::kSize, p, icmp_protocol(p), {message, message_length},
                                icmp::kChecksum));
  return l4 + message_length;
}

}  // namespace fairway
