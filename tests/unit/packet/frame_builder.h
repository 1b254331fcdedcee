#pragma once
// Assembles test frames field by field. Checksums come from a naive reference implementation
// written here on purpose: a bug in src/packet/checksum.cc must not cancel out in the tests.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "packet/addresses.h"
#include "packet/parse.h"

namespace fairway::test {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, size_t at, uint16_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(Bytes& b, size_t at, uint32_t v) {
  put16(b, at, static_cast<uint16_t>(v >> 16));
  put16(b, at + 2, static_cast<uint16_t>(v));
}
inline uint16_t get16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
inline uint32_t get32(const Bytes& b, size_t at) {
  return uint32_t{get16(b, at)} << 16 | get16(b, at + 2);
}
inline void append(Bytes& to, const Bytes& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// RFC 1071, one big-endian word at a time; returns the complemented value in host order.
inline uint16_t reference_checksum(const Bytes& bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 2) {
    sum += uint64_t{bytes[i]} << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0u);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline IpAddress ip(const std::string& text) {
  return *IpAddress::parse(text);
}

inline Bytes address_bytes(const IpAddress& a) {
  if (a.is_v4()) return Bytes(a.v4_bytes(), a.v4_bytes() + 4);
  return Bytes(a.bytes.begin(), a.bytes.end());
}

// An IPv6 extension header; byte 0 (next header) is filled in by build_frame().
struct Extension {
  uint8_t type = 0;
  Bytes bytes;
};

// Options headers padded with PadN: 8 * (units + 1) bytes.
inline Extension options_header(uint8_t type, uint8_t units = 0) {
  Bytes b(8 * (size_t{units} + 1), 0);
  b[1] = units;
  b[2] = 1;  // PadN
  b[3] = static_cast<uint8_t>(b.size() - 4);
  return {type, b};
}
inline Extension hop_by_hop(uint8_t units = 0) {
  return options_header(0, units);
}
inline Extension destination_options(uint8_t units = 0) {
  return options_header(60, units);
}
inline Extension routing_header() {
  Bytes b(8, 0);
  b[2] = 4;  // a type with no addresses, segments left 0: ignored by receivers
  return {43, b};
}
inline Extension fragment_header(uint16_t offset_units, bool more, uint32_t id = 0xabcd) {
  Bytes b(8, 0);
  put16(b, 2, static_cast<uint16_t>(offset_units << 3 | (more ? 1 : 0)));
  put32(b, 4, id);
  return {44, b};
}
inline Extension authentication_header() {
  Bytes b(16, 0xa5);  // 12 fixed bytes + a 4-byte ICV: 16, a multiple of 8 as IPv6 wants
  b[1] = 16 / 4 - 2;
  b[2] = b[3] = 0;
  return {51, b};
}

struct FrameSpec {
  std::array<uint8_t, 6> src_mac{2, 0, 0, 0, 0, 1};
  std::array<uint8_t, 6> dst_mac{2, 0, 0, 0, 0, 2};
  uint16_t ethertype = 0;  // 0: from the address family
  std::string src = "198.51.100.7";
  std::string dst = "198.18.0.10";
  uint8_t tos = 0;  // IPv4 TOS / IPv6 traffic class
  uint8_t ttl = 64;
  uint16_t ip_id = 0x1234;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // IPv4, 8-byte units
  Bytes ipv4_options;
  std::vector<Extension> extensions;
  uint8_t protocol = kProtoTcp;
  bool l4_header = true;  // false: `payload` is the whole L4 part (later fragments, raw L4)
  uint16_t src_port = 40000;
  uint16_t dst_port = 80;
  uint32_t seq = 1000;
  uint32_t ack = 0;
  uint8_t tcp_flags = kTcpSyn;
  uint16_t window = 65535;
  Bytes tcp_options;  // a multiple of 4 bytes
  uint8_t icmp_type = 8;
  uint8_t icmp_code = 0;
  uint32_t icmp_rest = 0;  // echo identifier and sequence, or the unused word of errors
  bool udp_zero_checksum = false;
  Bytes payload;
  size_t pad_to = 0;  // Ethernet padding up to this frame length
};

inline bool is_v6(const FrameSpec& s) {
  return s.src.find(':') != std::string::npos;
}

inline Bytes tcp_segment(const FrameSpec& s) {
  Bytes b(20, 0);
  put16(b, 0, s.src_port);
  put16(b, 2, s.dst_port);
  put32(b, 4, s.seq);
  put32(b, 8, s.ack);
  b[12] = static_cast<uint8_t>((20 + s.tcp_options.size()) / 4 << 4);
  b[13] = s.tcp_flags;
  put16(b, 14, s.window);
  append(b, s.tcp_options);
  append(b, s.payload);
  return b;
}

inline Bytes udp_datagram(const FrameSpec& s) {
  Bytes b(8, 0);
  put16(b, 0, s.src_port);
  put16(b, 2, s.dst_port);
  put16(b, 4, static_cast<uint16_t>(8 + s.payload.size()));
  append(b, s.payload);
  return b;
}

inline Bytes icmp_message(const FrameSpec& s) {
  Bytes b(8, 0);
  b[0] = s.icmp_type;
  b[1] = s.icmp_code;
  put32(b, 4, s.icmp_rest);
  append(b, s.payload);
  return b;
}

// Byte offset of the checksum in the L4 header, or -1 when the builder leaves it alone.
inline int checksum_offset(const FrameSpec& s) {
  if (!s.l4_header) return -1;
  if (s.protocol == kProtoTcp) return 16;
  if (s.protocol == kProtoUdp) return s.udp_zero_checksum ? -1 : 6;
  if (s.protocol == kProtoIcmp || s.protocol == kProtoIcmpv6) return 2;
  return -1;
}

inline Bytes pseudo_header(const FrameSpec& s, size_t l4_length) {
  Bytes p = address_bytes(ip(s.src));
  append(p, address_bytes(ip(s.dst)));
  if (is_v6(s)) {
    Bytes tail(8, 0);
    put32(tail, 0, static_cast<uint32_t>(l4_length));
    tail[7] = s.protocol;
    append(p, tail);
  } else {
    Bytes tail(4, 0);
    tail[1] = s.protocol;
    put16(tail, 2, static_cast<uint16_t>(l4_length));
    append(p, tail);
  }
  return p;
}

inline Bytes l4_bytes(const FrameSpec& s) {
  if (!s.l4_header) return s.payload;
  Bytes l4;
  if (s.protocol == kProtoTcp)
    l4 = tcp_segment(s);
  else if (s.protocol == kProtoUdp)
    l4 = udp_datagram(s);
  else if (s.protocol == kProtoIcmp || s.protocol == kProtoIcmpv6)
    l4 = icmp_message(s);
  else
    l4 = s.payload;
  int at = checksum_offset(s);
  if (at < 0) return l4;
  Bytes covered = (s.protocol == kProtoIcmp) ? Bytes{} : pseudo_header(s, l4.size());
  append(covered, l4);
  uint16_t sum = reference_checksum(covered);
  if (s.protocol == kProtoUdp && sum == 0) sum = 0xffff;
  put16(l4, static_cast<size_t>(at), sum);
  return l4;
}

inline Bytes ipv4_header(const FrameSpec& s, size_t l4_length) {
  Bytes h(20, 0);
  h[0] = static_cast<uint8_t>(0x40 | (20 + s.ipv4_options.size()) / 4);
  h[1] = s.tos;
  put16(h, 2, static_cast<uint16_t>(20 + s.ipv4_options.size() + l4_length));
  put16(h, 4, s.ip_id);
  put16(h, 6,
        static_cast<uint16_t>((s.dont_fragment ? 0x4000 : 0) | (s.more_fragments ? 0x2000 : 0) |
                              s.fragment_offset));
  h[8] = s.ttl;
  h[9] = s.protocol;
  append(h, s.ipv4_options);
  Bytes src = address_bytes(ip(s.src)), dst = address_bytes(ip(s.dst));
  std::copy(src.begin(), src.end(), h.begin() + 12);
  std::copy(dst.begin(), dst.end(), h.begin() + 16);
  put16(h, 10, reference_checksum(h));
  return h;
}

inline Bytes ipv6_header(const FrameSpec& s, size_t l4_length) {
  Bytes chain;
  uint8_t first = s.protocol;
  for (size_t i = s.extensions.size(); i-- > 0;) {
    Bytes e = s.extensions[i].bytes;
    e[0] = first;
    first = s.extensions[i].type;
    e.insert(e.end(), chain.begin(), chain.end());
    chain = e;
  }
  Bytes h(8, 0);
  h[0] = static_cast<uint8_t>(0x60 | s.tos >> 4);
  h[1] = static_cast<uint8_t>(s.tos << 4);
  put16(h, 4, static_cast<uint16_t>(chain.size() + l4_length));
  h[6] = first;
  h[7] = s.ttl;
  append(h, address_bytes(ip(s.src)));
  append(h, address_bytes(ip(s.dst)));
  append(h, chain);
  return h;
}

inline Bytes build_frame(const FrameSpec& s) {
  Bytes f(14, 0);
  std::copy(s.dst_mac.begin(), s.dst_mac.end(), f.begin());
  std::copy(s.src_mac.begin(), s.src_mac.end(), f.begin() + 6);
  put16(f, 12, s.ethertype ? s.ethertype : is_v6(s) ? kEtherTypeIpv6 : kEtherTypeIpv4);
  Bytes l4 = l4_bytes(s);
  append(f, is_v6(s) ? ipv6_header(s, l4.size()) : ipv4_header(s, l4.size()));
  append(f, l4);
  if (f.size() < s.pad_to) f.resize(s.pad_to, 0);
  return f;
}

// The differing offsets of two frames, for readable failures: "len 60 vs 62; @24: 1a vs 1b".
inline std::string frame_diff(const Bytes& got, const Bytes& want) {
  std::string out = "len " + std::to_string(got.size()) + " vs " + std::to_string(want.size());
  int shown = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()) && shown < 8; ++i) {
    if (got[i] == want[i]) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "; @%zu: %02x vs %02x", i, got[i], want[i]);
    out += buf;
    ++shown;
  }
  return out;
}

inline Bytes pattern(size_t n, uint8_t seed = 0) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

}  // namespace fairway::test
