#include "packet/syn_proxy.h"

#include <cstring>

#include "packet/byte_order.h"
#include "packet/checksum.h"
#include "packet/frame_writer.h"
#include "packet/headers.h"

namespace fairway {
namespace {

constexpr uint8_t kOptionEnd = 0;
constexpr uint8_t kOptionNop = 1;
constexpr uint8_t kOptionMss = 2;
constexpr size_t kMssOptionSize = 4;

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
  const TcpSegmentSpec s{p.dst_port,        p.src_port, cookie, p.tcp_seq + 1,
                         kTcpSyn | kTcpAck, window,     mss};
  const size_t length = write_tcp_packet(buffer, p.dst, p.src, s);
  if (length != 0) swap_macs(buffer.data());
  return length;
}

size_t build_backend_syn(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p,
                         const IpAddress& backend, uint16_t backend_port_host, uint32_t client_isn,
                         uint16_t mss, uint16_t window) {
  if (!is_tcp_segment(p) || frame_length > buffer.size()) return 0;
  const TcpSegmentSpec s{p.src_port, backend_port_host, client_isn, 0, kTcpSyn, window, mss};
  return write_tcp_packet(buffer, p.src, backend, s);
}

size_t build_backend_ack(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p,
                         uint16_t window) {
  if (!is_tcp_segment(p) || frame_length > buffer.size()) return 0;
  const TcpSegmentSpec s{p.dst_port, p.src_port, p.tcp_ack, p.tcp_seq + 1, kTcpAck, window, 0};
  const size_t length = write_tcp_packet(buffer, p.dst, p.src, s);
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
