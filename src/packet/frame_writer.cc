#include "packet/frame_writer.h"

#include <cstring>

#include "packet/byte_order.h"
#include "packet/checksum.h"
#include "packet/headers.h"
#include "packet/parse.h"

namespace fairway {
namespace {

constexpr uint8_t kOptionMss = 2;
constexpr size_t kMssOptionSize = 4;

size_t ip_header_size(bool v6) {
  return v6 ? ipv6::kSize : ipv4::kMinSize;
}

// The L4 checksum of a message written after write_ip_header().
uint16_t l4_checksum(const uint8_t* ip, bool v6, uint8_t protocol, std::span<const uint8_t> l4,
                     size_t checksum_offset) {
  return v6 ? l4_checksum_ipv6(ip + ipv6::kSrc, ip + ipv6::kDst, protocol, l4, checksum_offset)
            : l4_checksum_ipv4(ip + ipv4::kSrc, ip + ipv4::kDst, protocol, l4, checksum_offset);
}

}  // namespace

void write_ip_header(uint8_t* ip, const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                     size_t payload_length, uint8_t hop_limit) {
  if (!src.is_v4()) {
    std::memset(ip, 0, ipv6::kSize);
    ip[0] = 0x60;
    store_be16(ip + ipv6::kPayloadLength, static_cast<uint16_t>(payload_length));
    ip[ipv6::kNextHeader] = protocol;
    ip[ipv6::kHopLimit] = hop_limit;
    std::memcpy(ip + ipv6::kSrc, src.bytes.data(), 16);
    std::memcpy(ip + ipv6::kDst, dst.bytes.data(), 16);
    return;
  }
  std::memset(ip, 0, ipv4::kMinSize);
  ip[ipv4::kVersionIhl] = 0x45;
  store_be16(ip + ipv4::kTotalLength, static_cast<uint16_t>(ipv4::kMinSize + payload_length));
  store_be16(ip + ipv4::kFlagsFragment, ipv4::kDontFragment);
  ip[ipv4::kTtl] = hop_limit;
  ip[ipv4::kProtocol] = protocol;
  std::memcpy(ip + ipv4::kSrc, src.v4_bytes(), 4);
  std::memcpy(ip + ipv4::kDst, dst.v4_bytes(), 4);
  store_raw16(ip + ipv4::kChecksum, ipv4_header_checksum({ip, ipv4::kMinSize}));
}

void swap_macs(uint8_t* frame) {
  uint8_t old_dst[6];
  std::memcpy(old_dst, frame + eth::kDst, sizeof old_dst);
  std::memcpy(frame + eth::kDst, frame + eth::kSrc, sizeof old_dst);
  std::memcpy(frame + eth::kSrc, old_dst, sizeof old_dst);
}

void write_ethernet(std::span<uint8_t> frame, const MacAddress& dst, const MacAddress& src,
                    bool v6) {
  std::memcpy(frame.data() + eth::kDst, dst.bytes.data(), 6);
  std::memcpy(frame.data() + eth::kSrc, src.bytes.data(), 6);
  store_be16(frame.data() + 12, v6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
}

size_t write_tcp_packet(std::span<uint8_t> buffer, const IpAddress& src, const IpAddress& dst,
                        const TcpSegmentSpec& s, uint8_t hop_limit) {
  const bool v6 = !src.is_v4();
  const size_t l4_size = tcp::kMinSize + (s.mss != 0 ? kMssOptionSize : 0);
  const size_t l4 = eth::kSize + ip_header_size(v6);
  if (l4 + l4_size > buffer.size()) return 0;
  uint8_t* ip = buffer.data() + eth::kSize;
  write_ip_header(ip, src, dst, kProtoTcp, l4_size, hop_limit);
  uint8_t* t = buffer.data() + l4;
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
  store_raw16(t + tcp::kChecksum, l4_checksum(ip, v6, kProtoTcp, {t, l4_size}, tcp::kChecksum));
  return l4 + l4_size;
}

size_t write_udp_packet(std::span<uint8_t> buffer, const IpAddress& src, const IpAddress& dst,
                        uint16_t src_port, uint16_t dst_port, std::span<const uint8_t> payload,
                        uint8_t hop_limit) {
  const bool v6 = !src.is_v4();
  const size_t l4_size = udp::kSize + payload.size();
  const size_t l4 = eth::kSize + ip_header_size(v6);
  if (l4 + l4_size > buffer.size() || l4_size > 0xffff) return 0;
  uint8_t* ip = buffer.data() + eth::kSize;
  write_ip_header(ip, src, dst, kProtoUdp, l4_size, hop_limit);
  uint8_t* u = buffer.data() + l4;
  store_be16(u + udp::kSrcPort, src_port);
  store_be16(u + udp::kDstPort, dst_port);
  store_be16(u + udp::kLength, static_cast<uint16_t>(l4_size));
  store_be16(u + udp::kChecksum, 0);
  if (!payload.empty()) std::memcpy(u + udp::kSize, payload.data(), payload.size());
  uint16_t sum = l4_checksum(ip, v6, kProtoUdp, {u, l4_size}, udp::kChecksum);
  if (sum == 0) sum = 0xffff;  // RFC 768: 0 means "no checksum"
  store_raw16(u + udp::kChecksum, sum);
  return l4 + l4_size;
}

}  // namespace fairway
