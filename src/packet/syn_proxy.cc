#include "packet/syn_proxy.h"

#include <cstring>

#include "packet/byte_order.h"
#include "packet/checksum.h"
#include "packet/headers.h"

namespace fairway {
namespace {

constexpr uint8_t kHopLimit = 64;
constexpr uint8_t kOptionEnd = 0;
constexpr uint8_t kOptionNop = 1;
constexpr uint8_t kOptionMss = 2;
constexpr size_t kMssOptionSize = 4;

size_t ip_header_size(bool v6) {
  return v6 ? ipv6::kSize : ipv4::kMinSize;
}

void write_ip_header(uint8_t* ip, bool v6, const IpAddress& src, const IpAddress& dst,
                     size_t payload_length) {
  if (v6) {
    std::memset(ip, 0, ipv6::kSize);
    ip[0] = 0x60;
    store_be16(ip + ipv6::kPayloadLength, static_cast<uint16_t>(payload_length));
    ip[ipv6::kNextHeader] = kProtoTcp;
    ip[ipv6::kHopLimit] = kHopLimit;
    std::memcpy(ip + ipv6::kSrc, src.bytes.data(), 16);
    std::memcpy(ip + ipv6::kDst, dst.bytes.data(), 16);
    return;
  }
  std::memset(ip, 0, ipv4::kMinSize);
  ip[ipv4::kVersionIhl] = 0x45;
  store_be16(ip + ipv4::kTotalLength, static_cast<uint16_t>(ipv4::kMinSize + payload_length));
  store_be16(ip + ipv4::kFlagsFragment, ipv4::kDontFragment);
  ip[ipv4::kTtl] = kHopLimit;
  ip[ipv4::kProtocol] = kProtoTcp;
  std::memcpy(ip + ipv4::kSrc, src.v4_bytes(), 4);
  std::memcpy(ip + ipv4::kDst, dst.v4_bytes(), 4);
  store_raw16(ip + ipv4::kChecksum, ipv4_header_checksum({ip, ipv4::kMinSize}));
}

struct Segment {
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t seq;
  uint32_t ack;
  uint8_t flags;
  uint16_t window;
  uint16_t mss;  // 0: no option
};

size_t segment_size(const Segment& s) {
  return tcp::kMinSize + (s.mss != 0 ? kMssOptionSize : 0);
}

// An Ethernet frame's IP header and TCP segment (no payload), checksums included. The Ethernet
// header is left as it is. Returns the frame's length, or 0 when `buffer` is too small.
size_t write_segment(std::span<uint8_t> buffer, bool v6, const IpAddress& src, const IpAddress& dst,
                     const Segment& s) {
  const size_t l4_size = segment_size(s);
  const size_t l4 = eth::kSize + ip_header_size(v6);
  if (l4 + l4_size > buffer.size()) return 0;
  uint8_t* f = buffer.data();
  uint8_t* ip = f + eth::kSize;
  write_ip_header(ip, v6, src, dst, l4_size);
  uint8_t* t = f + l4;
  std::memset(t, 0, l4_size);
  store_be16(t + tcp::kSrcPort, s.src_port);
  store_be16(t + tcp::kDstPort, s.dst_port);
  store_be32(t + tcp::kSeq, s.seq);
  store_be32(t + tcp::kAck, s.ack);
  t[tcp::kDataOffset] = static_cast<uint8_t>(l4_size / 4 << 4);
  t[tcp::kFlags] = s.flags;
  store_be16(t + tcp::kWindow, s.window);
  if (s.mss != 0) {
    t[tcp::kMinSize] = kOptionMss;
    t[tcp::kMinSize + 1] = kMssOptionSize;
    store_be16(t + tcp::kMinSize + 2, s.mss);
  }
  const std::span<const uint8_t> segment{t, l4_size};
  store_raw16(
      t + tcp::kChecksum,
      v6 ? l4_checksum_ipv6(ip + ipv6::kSrc, ip + ipv6::kDst, kProtoTcp, segment, tcp::kChecksum)
         : l4_checksum_ipv4(ip + ipv4::kSrc, ip + ipv4::kDst, kProtoTcp, segment, tcp::kChecksum));
  return l4 + l4_size;
}

void swap_macs(uint8_t* frame) {
  uint8_t old_dst[6];
  std::memcpy(old_dst, frame + eth::kDst, sizeof old_dst);
  std::memcpy(frame + eth::kDst, frame + eth::kSrc, sizeof old_dst);
  std::memcpy(frame + eth::kSrc, old_dst, sizeof old_dst);
}

bool is_tcp_segment(const ParsedPacket& p) {
  return (p.l3 == L3Kind::ipv4 || p.l3 == L3Kind::ipv6) && p.l4_protocol == kProtoTcp &&
         !p.is_later_fragment;
}

}  // namespace

uint16_t tcp_mss_option(std::span<const uint8_t> frame, const ParsedPacket& p) {
  if (!is_tcp_segment(p) || p.l4_offset + tcp::kMinSize > frame.size()) return 0;
  const uint8_t* t = frame.data() + p.l4_offset;
  const size_t header = size_t{t[tcp::kDataOffset]} >> 4 << 2;
  if (header < tcp::kMinSize || p.l4_offset + header > frame.size()) return 0;
  for (size_t i = tcp::kMinSize; i < header;) {
    const uint8_t kind = t[i];
    if (kind == kOptionEnd) break;
    if (kind == kOptionNop) {
      ++i;
      continue;
    }
    if (i + 1 >= header) break;
    const uint8_t length = t[i + 1];
    if (length < 2 || i + length > header) break;
    if (kind == kOptionMss && length == kMssOptionSize) return load_be16(t + i + 2);
    i += length;
  }
  return 0;
}

size_t build_syn_cookie_reply(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p,
                              uint32_t cookie, uint16_t mss, uint16_t window) {
  if (!is_tcp_segment(p) || frame_length > buffer.size()) return 0;
  const Segment s{p.dst_port, p.src_port, cookie, p.tcp_seq + 1, kTcpSyn | kTcpAck, window, mss};
  const size_t length = write_segment(buffer, p.l3 == L3Kind::ipv6, p.dst, p.src, s);
  if (length != 0) swap_macs(buffer.data());
  return length;
}

size_t build_backend_syn(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p,
                         const IpAddress& backend, uint16_t backend_port_host, uint32_t client_isn,
                         uint16_t mss, uint16_t window) {
  if (!is_tcp_segment(p) || frame_length > buffer.size()) return 0;
  const Segment s{p.src_port, backend_port_host, client_isn, 0, kTcpSyn, window, mss};
  return write_segment(buffer, p.l3 == L3Kind::ipv6, p.src, backend, s);
}

size_t build_backend_ack(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p,
                         uint16_t window) {
  if (!is_tcp_segment(p) || frame_length > buffer.size()) return 0;
  const Segment s{p.dst_port, p.src_port, p.tcp_ack, p.tcp_seq + 1, kTcpAck, window, 0};
  const size_t length = write_segment(buffer, p.l3 == L3Kind::ipv6, p.dst, p.src, s);
  if (length != 0) swap_macs(buffer.data());
  return length;
}

namespace {
void replace_word(std::span<uint8_t> frame, const ParsedPacket& p, size_t field,
                  uint32_t new_value_host) {
  uint8_t* t = frame.data() + p.l4_offset;
  uint8_t old_bytes[4];
  std::memcpy(old_bytes, t + field, 4);
  store_be32(t + field, new_value_host);
  store_raw16(t + tcp::kChecksum,
              checksum_update_bytes(load_raw16(t + tcp::kChecksum), old_bytes, t + field, 4));
}
}  // namespace

void shift_tcp_ack(std::span<uint8_t> frame, const ParsedPacket& p, uint32_t offset) {
  replace_word(frame, p, tcp::kAck, p.tcp_ack + offset);
}

void shift_tcp_seq(std::span<uint8_t> frame, const ParsedPacket& p, uint32_t offset) {
  replace_word(frame, p, tcp::kSeq, p.tcp_seq - offset);
}

}  // namespace fairway
