#include "packet/parse.h"

#include "packet/byte_order.h"
#include "packet/checksum.h"
#include "packet/headers.h"

namespace fairway {
namespace {

// Offsets are 16-bit; no port of ours receives larger frames, and cutting the view keeps every
// offset representable (a longer datagram then fails its length check).
constexpr size_t kMaxFrame = 0xffff;
// Real stacks send at most a handful; the bound keeps a hostile chain from costing more.
constexpr int kMaxExtensionHeaders = 8;

struct Ipv6Chain {
  size_t l4_offset = 0;
  uint8_t protocol = 0;
  bool is_fragment = false;
  bool is_later_fragment = false;
};

bool is_extension_header(uint8_t next) {
  return next == ipv6::kHopByHop || next == ipv6::kRouting || next == ipv6::kFragment ||
         next == ipv6::kDestinationOptions || next == ipv6::kAuthentication;
}

size_t extension_length(uint8_t type, uint8_t length_field) {
  if (type == ipv6::kFragment) return ipv6::kFragmentHeaderSize;
  if (type == ipv6::kAuthentication) return (size_t{length_field} + 2) * 4;  // RFC 4302
  return (size_t{length_field} + 1) * 8;
}

// Reads a fragment header at `h`. A later fragment ends the walk: what follows is payload.
// Atomic fragments (offset 0, no M flag) are whole packets (RFC 6946).
bool read_fragment_header(const uint8_t* h, Ipv6Chain& chain) {
  uint16_t offset_flags = load_be16(h + 2);
  bool more = (offset_flags & 1) != 0;
  bool later = (offset_flags >> 3) != 0;
  chain.is_fragment = more || later;
  chain.is_later_fragment = later;
  return later;
}

// Walks the extension headers in [offset, end). Every header must lie whole inside the range.
DropReason walk_ipv6_extensions(std::span<const uint8_t> frame, size_t offset, size_t end,
                                uint8_t next, Ipv6Chain& chain) {
  for (int count = 0;; ++count) {
    if (!is_extension_header(next)) break;
    // RFC 8200: hop-by-hop options only directly after the IPv6 header.
    if (count == kMaxExtensionHeaders || (next == ipv6::kHopByHop && count != 0)) {
      return DropReason::bad_ipv6_extension_header;
    }
    if (end - offset < 2) return DropReason::bad_ipv6_extension_header;
    const uint8_t* h = frame.data() + offset;
    size_t length = extension_length(next, h[1]);
    if (length > end - offset) return DropReason::bad_ipv6_extension_header;
    bool stop = next == ipv6::kFragment && read_fragment_header(h, chain);
    next = h[0];
    offset += length;
    if (stop) break;
  }
  chain.l4_offset = offset;
  chain.protocol = next;
  return DropReason::none;
}

DropReason parse_tcp(std::span<const uint8_t> l4, ParsedPacket& out) {
  if (l4.size() < tcp::kMinSize) return DropReason::truncated_tcp;
  size_t header_length = size_t{static_cast<uint8_t>(l4[tcp::kDataOffset] >> 4)} * 4;
  if (header_length < tcp::kMinSize || header_length > l4.size()) {
    return DropReason::bad_tcp_data_offset;
  }
  out.src_port = load_be16(l4.data() + tcp::kSrcPort);
  out.dst_port = load_be16(l4.data() + tcp::kDstPort);
  out.tcp_seq = load_be32(l4.data() + tcp::kSeq);
  out.tcp_ack = load_be32(l4.data() + tcp::kAck);
  out.tcp_flags = l4[tcp::kFlags];
  out.l4_payload_length = static_cast<uint16_t>(l4.size() - header_length);
  return DropReason::none;
}

DropReason parse_udp(std::span<const uint8_t> l4, ParsedPacket& out) {
  if (l4.size() < udp::kSize) return DropReason::truncated_udp;
  size_t length = load_be16(l4.data() + udp::kLength);
  // A first fragment carries only part of the datagram the length field describes.
  bool consistent = out.is_fragment ? length >= l4.size() : length == l4.size();
  if (!consistent) return DropReason::bad_udp_length;
  out.src_port = load_be16(l4.data() + udp::kSrcPort);
  out.dst_port = load_be16(l4.data() + udp::kDstPort);
  out.l4_payload_length = static_cast<uint16_t>(l4.size() - udp::kSize);
  return DropReason::none;
}

bool is_echo(uint8_t protocol, uint8_t type) {
  if (protocol == kProtoIcmp) return type == icmp::kEchoRequest || type == icmp::kEchoReply;
  return type == icmpv6::kEchoRequest || type == icmpv6::kEchoReply;
}

DropReason parse_icmp(std::span<const uint8_t> l4, ParsedPacket& out) {
  if (l4.size() < icmp::kMinSize) return DropReason::truncated_icmp;
  out.icmp_type = l4[icmp::kType];
  out.icmp_code = l4[icmp::kCode];
  if (is_echo(out.l4_protocol, out.icmp_type) && l4.size() < icmp::kEchoSize) {
    return DropReason::truncated_icmp;
  }
  return DropReason::none;
}

DropReason parse_l4(std::span<const uint8_t> frame, ParsedPacket& out) {
  if (out.is_later_fragment) return DropReason::none;
  auto l4 = frame.subspan(out.l4_offset, out.ip_end - out.l4_offset);
  bool v4 = out.l3 == L3Kind::ipv4;
  switch (out.l4_protocol) {
    case kProtoTcp:
      return parse_tcp(l4, out);
    case kProtoUdp:
      return parse_udp(l4, out);
    case kProtoIcmp:
      return v4 ? parse_icmp(l4, out) : DropReason::none;
    case kProtoIcmpv6:
      return v4 ? DropReason::none : parse_icmp(l4, out);
    default:
      return DropReason::none;
  }
}

DropReason parse_ipv4(std::span<const uint8_t> frame, ParsedPacket& out) {
  const size_t l3 = out.l3_offset;
  const size_t available = frame.size() - l3;
  if (available < ipv4::kMinSize) return DropReason::truncated_ipv4;
  const uint8_t* h = frame.data() + l3;
  if (h[ipv4::kVersionIhl] >> 4 != 4) return DropReason::bad_ipv4_version;
  size_t header_length = size_t{static_cast<uint8_t>(h[ipv4::kVersionIhl] & 0xf)} * 4;
  if (header_length < ipv4::kMinSize) return DropReason::bad_ipv4_header_length;
  size_t total_length = load_be16(h + ipv4::kTotalLength);
  if (total_length < ipv4::kMinSize || total_length > available) {
    return DropReason::bad_ipv4_total_length;
  }
  if (header_length > total_length) return DropReason::bad_ipv4_header_length;
  // Summing a header with its checksum in place gives 0xffff, which folds to 0.
  if (checksum_fold(checksum_partial(frame.subspan(l3, header_length))) != 0) {
    return DropReason::bad_ipv4_checksum;
  }
  uint16_t fragment = load_be16(h + ipv4::kFlagsFragment);
  out.is_fragment = (fragment & (ipv4::kMoreFragments | ipv4::kOffsetMask)) != 0;
  out.is_later_fragment = (fragment & ipv4::kOffsetMask) != 0;
  out.hop_limit = h[ipv4::kTtl];
  out.l4_protocol = h[ipv4::kProtocol];
  out.src = IpAddress::from_v4(h + ipv4::kSrc);
  out.dst = IpAddress::from_v4(h + ipv4::kDst);
  out.l4_offset = static_cast<uint16_t>(l3 + header_length);
  out.ip_end = static_cast<uint16_t>(l3 + total_length);
  return parse_l4(frame, out);
}

DropReason parse_ipv6(std::span<const uint8_t> frame, ParsedPacket& out) {
  const size_t l3 = out.l3_offset;
  const size_t available = frame.size() - l3;
  if (available < ipv6::kSize) return DropReason::truncated_ipv6;
  const uint8_t* h = frame.data() + l3;
  if (h[0] >> 4 != 6) return DropReason::bad_ipv6_version;
  size_t payload_length = load_be16(h + ipv6::kPayloadLength);
  if (payload_length > available - ipv6::kSize) return DropReason::bad_ipv6_payload_length;
  out.hop_limit = h[ipv6::kHopLimit];
  out.src = IpAddress::from_v6(h + ipv6::kSrc);
  out.dst = IpAddress::from_v6(h + ipv6::kDst);
  out.ip_end = static_cast<uint16_t>(l3 + ipv6::kSize + payload_length);
  Ipv6Chain chain;
  DropReason r =
      walk_ipv6_extensions(frame, l3 + ipv6::kSize, out.ip_end, h[ipv6::kNextHeader], chain);
  if (r != DropReason::none) return r;
  out.l4_offset = static_cast<uint16_t>(chain.l4_offset);
  out.l4_protocol = chain.protocol;
  out.is_fragment = chain.is_fragment;
  out.is_later_fragment = chain.is_later_fragment;
  return parse_l4(frame, out);
}

// The quoted header is parsed leniently: the sender quotes only the start of the datagram, so
// its total length usually exceeds the quote, and its checksum is not ours to judge.
DropReason parse_quoted_ipv4(std::span<const uint8_t> frame, QuotedPacket& out) {
  if (size_t{out.end} - out.l3_offset < ipv4::kMinSize) return DropReason::bad_icmp_quote;
  const uint8_t* h = frame.data() + out.l3_offset;
  size_t header_length = size_t{static_cast<uint8_t>(h[ipv4::kVersionIhl] & 0xf)} * 4;
  if (h[ipv4::kVersionIhl] >> 4 != 4 || header_length < ipv4::kMinSize ||
      header_length > size_t{out.end} - out.l3_offset) {
    return DropReason::bad_icmp_quote;
  }
  // A later fragment carries no ports to match a flow with.
  if ((load_be16(h + ipv4::kFlagsFragment) & ipv4::kOffsetMask) != 0) {
    return DropReason::bad_icmp_quote;
  }
  out.l4_protocol = h[ipv4::kProtocol];
  out.src = IpAddress::from_v4(h + ipv4::kSrc);
  out.dst = IpAddress::from_v4(h + ipv4::kDst);
  out.l4_offset = static_cast<uint16_t>(out.l3_offset + header_length);
  return DropReason::none;
}

DropReason parse_quoted_ipv6(std::span<const uint8_t> frame, QuotedPacket& out) {
  if (size_t{out.end} - out.l3_offset < ipv6::kSize) return DropReason::bad_icmp_quote;
  const uint8_t* h = frame.data() + out.l3_offset;
  if (h[0] >> 4 != 6) return DropReason::bad_icmp_quote;
  Ipv6Chain chain;
  DropReason r = walk_ipv6_extensions(frame, out.l3_offset + ipv6::kSize, out.end,
                                      h[ipv6::kNextHeader], chain);
  if (r != DropReason::none || chain.is_later_fragment) return DropReason::bad_icmp_quote;
  out.l4_protocol = chain.protocol;
  out.src = IpAddress::from_v6(h + ipv6::kSrc);
  out.dst = IpAddress::from_v6(h + ipv6::kDst);
  out.l4_offset = static_cast<uint16_t>(chain.l4_offset);
  return DropReason::none;
}

// The frames a load balancer mostly sees: Ethernet, IPv4 without options and not a fragment,
// then TCP or UDP, all well formed. Checked with fewer branches than the general parser and the
// header checksum summed as five fixed words. Anything else (other protocols, options,
// fragments and every malformed frame) returns false and goes through the general parser, which
// names the drop reason; for the frames accepted here both give the same ParsedPacket (the parse
// fuzzer compares them).
bool parse_common_ipv4(std::span<const uint8_t> frame, ParsedPacket& out, bool ipv4_checksum_good) {
  constexpr size_t kL3 = eth::kSize;
  constexpr size_t kL4 = kL3 + ipv4::kMinSize;
  if (frame.size() < kL4 || load_be16(frame.data() + eth::kEtherType) != kEtherTypeIpv4) {
    return false;
  }
  const uint8_t* h = frame.data() + kL3;
  constexpr uint8_t kVersion4NoOptions = 0x45;
  if (h[ipv4::kVersionIhl] != kVersion4NoOptions) return false;
  const size_t total_length = load_be16(h + ipv4::kTotalLength);
  if (total_length < ipv4::kMinSize || total_length > frame.size() - kL3) return false;
  if ((load_be16(h + ipv4::kFlagsFragment) & (ipv4::kMoreFragments | ipv4::kOffsetMask)) != 0) {
    return false;
  }
  const uint8_t protocol = h[ipv4::kProtocol];
  const uint8_t* l4 = h + ipv4::kMinSize;
  const size_t l4_size = total_length - ipv4::kMinSize;
  size_t l4_header = 0;
  if (protocol == kProtoTcp) {
    if (l4_size < tcp::kMinSize) return false;
    l4_header = size_t{static_cast<uint8_t>(l4[tcp::kDataOffset] >> 4)} * 4;
    if (l4_header < tcp::kMinSize || l4_header > l4_size) return false;
  } else if (protocol == kProtoUdp) {
    if (l4_size < udp::kSize || load_be16(l4 + udp::kLength) != l4_size) return false;
    l4_header = udp::kSize;
  } else {
    return false;
  }
  if (!ipv4_checksum_good && !ipv4_header_checksum_ok(h)) return false;
  const bool is_tcp = protocol == kProtoTcp;
  out = ParsedPacket{
      .l3 = L3Kind::ipv4,
      .ethertype = kEtherTypeIpv4,
      .l3_offset = kL3,
      .l4_offset = kL4,
      .ip_end = static_cast<uint16_t>(kL3 + total_length),
      .l4_protocol = protocol,
      .hop_limit = h[ipv4::kTtl],
      .src = IpAddress::from_v4(h + ipv4::kSrc),
      .dst = IpAddress::from_v4(h + ipv4::kDst),
      .src_port = load_be16(l4 + tcp::kSrcPort),  // UDP's ports sit at the same offsets
      .dst_port = load_be16(l4 + tcp::kDstPort),
      .tcp_flags = is_tcp ? l4[tcp::kFlags] : uint8_t{0},
      .tcp_seq = is_tcp ? load_be32(l4 + tcp::kSeq) : 0,
      .tcp_ack = is_tcp ? load_be32(l4 + tcp::kAck) : 0,
      .l4_payload_length = static_cast<uint16_t>(l4_size - l4_header),
  };
  return true;
}

}  // namespace

DropReason parse_frame(std::span<const uint8_t> frame, ParsedPacket& out, bool ipv4_checksum_good) {
  if (frame.size() > kMaxFrame) frame = frame.first(kMaxFrame);
  if (parse_common_ipv4(frame, out, ipv4_checksum_good)) return DropReason::none;
  return parse_frame_general(frame, out);
}

DropReason parse_frame_general(std::span<const uint8_t> frame, ParsedPacket& out) {
  out = ParsedPacket{};
  if (frame.size() > kMaxFrame) frame = frame.first(kMaxFrame);
  if (frame.size() < eth::kSize) return DropReason::truncated_ethernet;
  out.ethertype = load_be16(frame.data() + eth::kEtherType);
  out.l3_offset = eth::kSize;
  switch (out.ethertype) {
    case kEtherTypeIpv4:
      out.l3 = L3Kind::ipv4;
      return parse_ipv4(frame, out);
    case kEtherTypeIpv6:
      out.l3 = L3Kind::ipv6;
      return parse_ipv6(frame, out);
    case kEtherTypeArp:
      out.l3 = L3Kind::arp;
      return DropReason::none;
    default:  // VLAN tags included: the kernel gets what we do not understand
      return DropReason::none;
  }
}

bool is_icmp_error(const ParsedPacket& p) {
  if (p.is_later_fragment) return false;
  if (p.l3 == L3Kind::ipv4 && p.l4_protocol == kProtoIcmp) {
    return p.icmp_type == icmp::kDestinationUnreachable || p.icmp_type == icmp::kTimeExceeded ||
           p.icmp_type == icmp::kParameterProblem;
  }
  if (p.l3 == L3Kind::ipv6 && p.l4_protocol == kProtoIcmpv6) {
    return p.icmp_type >= icmpv6::kDestinationUnreachable &&
           p.icmp_type <= icmpv6::kParameterProblem;
  }
  return false;
}

DropReason parse_icmp_quote(std::span<const uint8_t> frame, const ParsedPacket& p,
                            QuotedPacket& out) {
  out = QuotedPacket{};
  if (!is_icmp_error(p) || p.ip_end > frame.size()) return DropReason::bad_icmp_quote;
  size_t quote_offset = size_t{p.l4_offset} + icmp::kErrorQuoteOffset;
  if (quote_offset > p.ip_end) return DropReason::bad_icmp_quote;
  out.l3_offset = static_cast<uint16_t>(quote_offset);
  out.end = p.ip_end;
  DropReason r =
      p.l3 == L3Kind::ipv4 ? parse_quoted_ipv4(frame, out) : parse_quoted_ipv6(frame, out);
  if (r != DropReason::none) return r;
  // RFC 792 guarantees 64 bits of the original L4 header: the ports of TCP and UDP.
  if (out.end - out.l4_offset < 8) return DropReason::bad_icmp_quote;
  if (out.l4_protocol == kProtoTcp || out.l4_protocol == kProtoUdp) {
    out.src_port = load_be16(frame.data() + out.l4_offset);
    out.dst_port = load_be16(frame.data() + out.l4_offset + 2);
  }
  return DropReason::none;
}

}  // namespace fairway
