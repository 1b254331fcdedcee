#include "packet/rewrite.h"

#include <cstring>

#include "packet/byte_order.h"
#include "packet/checksum.h"
#include "packet/headers.h"

namespace fairway {
namespace {

// Where a packet's L4 checksum sits and which rewritten fields it covers.
struct L4Checksum {
  size_t offset = 0;
  bool present = false;
  bool covers_address = false;  // through the pseudo-header
  bool is_udp = false;
};

bool has_ports(const ParsedPacket& p) {
  return !p.is_later_fragment && (p.l4_protocol == kProtoTcp || p.l4_protocol == kProtoUdp);
}

L4Checksum l4_checksum_of(const ParsedPacket& p) {
  if (p.is_later_fragment) return {};
  L4Checksum c;
  switch (p.l4_protocol) {
    case kProtoTcp:
      c = {size_t{p.l4_offset} + tcp::kChecksum, true, true, false};
      break;
    case kProtoUdp:
      c = {size_t{p.l4_offset} + udp::kChecksum, true, true, true};
      break;
    case kProtoIcmpv6:  // ICMPv4 has no pseudo-header, so addresses do not reach it
      if (p.l3 == L3Kind::ipv6) c = {size_t{p.l4_offset} + icmp::kChecksum, true, true, false};
      break;
    default:
      break;
  }
  // A quoted packet (see nat_rewrite_icmp_error) may stop before its checksum field.
  if (c.offset + 2 > p.ip_end) return {};
  return c;
}

void update_checksum_at(uint8_t* at, const uint8_t* old_bytes, const uint8_t* new_bytes,
                        size_t length) {
  store_raw16(at, checksum_update_bytes(load_raw16(at), old_bytes, new_bytes, length));
}

// Applies a checksum_difference to the L4 checksum.
void update_l4_checksum(std::span<uint8_t> frame, const ParsedPacket& p, const L4Checksum& c,
                        uint64_t difference) {
  uint8_t* at = frame.data() + c.offset;
  uint16_t old_checksum = load_raw16(at);
  // RFC 768: zero means the IPv4 sender computed none; inventing one would be wrong.
  if (c.is_udp && p.l3 == L3Kind::ipv4 && old_checksum == 0) return;
  uint16_t updated = checksum_apply(old_checksum, difference);
  if (c.is_udp && updated == 0) updated = 0xffff;
  store_raw16(at, updated);
}

void update_l4_checksum(std::span<uint8_t> frame, const ParsedPacket& p, const L4Checksum& c,
                        const uint8_t* old_bytes, const uint8_t* new_bytes, size_t length) {
  update_l4_checksum(frame, p, c, checksum_difference(old_bytes, new_bytes, length));
}

const uint8_t* address_bytes(const IpAddress& a, bool v4) {
  return v4 ? a.v4_bytes() : a.bytes.data();
}

// Writes an address field and fixes every checksum covering it.
void replace_address(std::span<uint8_t> frame, const ParsedPacket& p, size_t field_offset,
                     const IpAddress& address) {
  bool v4 = p.l3 == L3Kind::ipv4;
  size_t length = v4 ? 4 : 16;
  uint8_t* field = frame.data() + field_offset;
  const uint8_t* new_bytes = address_bytes(address, v4);
  if (v4) update_checksum_at(frame.data() + p.l3_offset + ipv4::kChecksum, field, new_bytes, 4);
  L4Checksum c = l4_checksum_of(p);
  if (c.covers_address) update_l4_checksum(frame, p, c, field, new_bytes, length);
  std::memcpy(field, new_bytes, length);
}

// Writes a TCP/UDP port (`port_offset` within the L4 header); other protocols have none.
void replace_port(std::span<uint8_t> frame, const ParsedPacket& p, size_t port_offset,
                  uint16_t port_host) {
  if (!has_ports(p)) return;
  uint8_t* field = frame.data() + p.l4_offset + port_offset;
  uint8_t new_bytes[2];
  store_be16(new_bytes, port_host);
  L4Checksum c = l4_checksum_of(p);
  if (c.present) update_l4_checksum(frame, p, c, field, new_bytes, 2);
  std::memcpy(field, new_bytes, 2);
}

// IPv4 TCP or UDP, both NAT directions' common case: address and port change together. The
// address's checksum difference is summed once (inline, no call) and applied to the header
// checksum, then, with the port's added, to the L4 checksum; one's-complement sums are
// associative, so the result is the one replace_address then replace_port give.
// The L4 checksum is found and updated here as l4_checksum_of and update_l4_checksum would for
// IPv4 TCP/UDP, without their calls and protocol switch (~25 instructions per NAT packet).
[[gnu::always_inline]] inline void replace_ipv4_endpoint(std::span<uint8_t> frame,
                                                         const ParsedPacket& p,
                                                         size_t address_offset, size_t port_offset,
                                                         const IpAddress& address,
                                                         uint16_t port_host) {
  uint8_t* address_field = frame.data() + address_offset;
  uint8_t* port_field = frame.data() + p.l4_offset + port_offset;
  uint8_t new_port[2];
  store_be16(new_port, port_host);
  const uint64_t address_difference = checksum_difference(address_field, address.v4_bytes(), 4);
  uint8_t* header_checksum = frame.data() + p.l3_offset + ipv4::kChecksum;
  store_raw16(header_checksum, checksum_apply(load_raw16(header_checksum), address_difference));
  // Only TCP or UDP get here (has_ports): the checksum is present unless a quoted packet stops
  // before it.
  const bool is_udp = p.l4_protocol == kProtoUdp;
  const size_t checksum_offset = size_t{p.l4_offset} + (is_udp ? udp::kChecksum : tcp::kChecksum);
  if (checksum_offset + 2 <= p.ip_end) {
    uint8_t* at = frame.data() + checksum_offset;
    const uint16_t old_checksum = load_raw16(at);
    // RFC 768: zero means the IPv4 sender computed none; inventing one would be wrong.
    if (!is_udp || old_checksum != 0) {
      uint16_t updated = checksum_apply(
          old_checksum, address_difference + checksum_difference(port_field, new_port, 2));
      if (is_udp && updated == 0) updated = 0xffff;
      store_raw16(at, updated);
    }
  }
  std::memcpy(address_field, address.v4_bytes(), 4);
  std::memcpy(port_field, new_port, 2);
}

size_t src_address_offset(const ParsedPacket& p) {
  return p.l3_offset + (p.l3 == L3Kind::ipv4 ? ipv4::kSrc : ipv6::kSrc);
}

size_t dst_address_offset(const ParsedPacket& p) {
  return p.l3_offset + (p.l3 == L3Kind::ipv4 ? ipv4::kDst : ipv6::kDst);
}

// The quote seen as a packet of its own, so the same field rewrites apply to it.
ParsedPacket quote_as_packet(const ParsedPacket& p, const QuotedPacket& quote) {
  ParsedPacket q;
  q.l3 = p.l3;
  q.l3_offset = quote.l3_offset;
  q.l4_offset = quote.l4_offset;
  q.ip_end = quote.end;
  q.l4_protocol = quote.l4_protocol;
  return q;
}

void recompute_icmp_checksum(std::span<uint8_t> frame, const ParsedPacket& p) {
  auto message = frame.subspan(p.l4_offset, p.ip_end - p.l4_offset);
  uint16_t checksum;
  if (p.l3 == L3Kind::ipv4) {
    checksum = icmpv4_checksum(message);
  } else {
    const uint8_t* ip = frame.data() + p.l3_offset;
    checksum =
        l4_checksum_ipv6(ip + ipv6::kSrc, ip + ipv6::kDst, kProtoIcmpv6, message, icmp::kChecksum);
  }
  store_raw16(message.data() + icmp::kChecksum, checksum);
}

}  // namespace

void nat_rewrite_destination(std::span<uint8_t> frame, const ParsedPacket& p,
                             const IpAddress& new_dst, uint16_t new_dst_port_host) {
  if (p.l3 == L3Kind::ipv4 && has_ports(p)) {
    replace_ipv4_endpoint(frame, p, dst_address_offset(p), tcp::kDstPort, new_dst,
                          new_dst_port_host);
    return;
  }
  replace_address(frame, p, dst_address_offset(p), new_dst);
  replace_port(frame, p, tcp::kDstPort, new_dst_port_host);
}

void nat_rewrite_source(std::span<uint8_t> frame, const ParsedPacket& p, const IpAddress& new_src,
                        uint16_t new_src_port_host) {
  if (p.l3 == L3Kind::ipv4 && has_ports(p)) {
    replace_ipv4_endpoint(frame, p, src_address_offset(p), tcp::kSrcPort, new_src,
                          new_src_port_host);
    return;
  }
  replace_address(frame, p, src_address_offset(p), new_src);
  replace_port(frame, p, tcp::kSrcPort, new_src_port_host);
}

void nat_rewrite_icmp_error(std::span<uint8_t> frame, const ParsedPacket& p,
                            const QuotedPacket& quote, const IpAddress& backend,
                            uint16_t backend_port_host) {
  replace_address(frame, p, dst_address_offset(p), backend);
  ParsedPacket quoted = quote_as_packet(p, quote);
  replace_address(frame, quoted, src_address_offset(quoted), backend);
  replace_port(frame, quoted, tcp::kSrcPort, backend_port_host);
  recompute_icmp_checksum(frame, p);
}

bool decrement_hop_limit(std::span<uint8_t> frame, const ParsedPacket& p) {
  uint8_t* ip = frame.data() + p.l3_offset;
  if (p.l3 == L3Kind::ipv6) {
    if (ip[ipv6::kHopLimit] <= 1) return false;
    --ip[ipv6::kHopLimit];
    return true;
  }
  if (ip[ipv4::kTtl] <= 1) return false;
  // The TTL shares its checksummed 16-bit word with the protocol byte.
  uint16_t old_word = load_raw16(ip + ipv4::kTtl);
  --ip[ipv4::kTtl];
  uint16_t checksum = load_raw16(ip + ipv4::kChecksum);
  store_raw16(ip + ipv4::kChecksum,
              checksum_update16(checksum, old_word, load_raw16(ip + ipv4::kTtl)));
  return true;
}

}  // namespace fairway
