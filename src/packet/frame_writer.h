#pragma once
// Writing whole IP packets after an Ethernet header: the frames the data plane makes itself (the
// SYN proxy's) and the ones fairway-sim feeds the pipeline. Checksums included. IPv4 with DF and
// ID 0, no options; IPv6 without extension headers; TTL / hop limit as given.
#include <cstddef>
#include <cstdint>
#include <span>

#include "packet/addresses.h"

namespace fairway {

struct TcpSegmentSpec {
  uint16_t src_port = 0;  // host byte order
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t mss = 0;  // 0: no option; else one MSS option
};

// An IP header at `ip` from `src` to `dst` (the family is theirs) carrying `payload_length` bytes
// of `protocol`: IPv4 without options, DF, ID 0, its checksum; IPv6 without extension headers.
void write_ip_header(uint8_t* ip, const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                     size_t payload_length, uint8_t hop_limit);

// Swaps the Ethernet source and destination: a reply goes back where the frame came from.
void swap_macs(uint8_t* frame);

// The Ethernet header: MACs and the ethertype of `v6`.
void write_ethernet(std::span<uint8_t> frame, const MacAddress& dst, const MacAddress& src,
                    bool v6);

// An IP header and a TCP segment without payload at eth::kSize; the Ethernet header is left as it
// is. Returns the frame's length, or 0 when `buffer` is too small.
size_t write_tcp_packet(std::span<uint8_t> buffer, const IpAddress& src, const IpAddress& dst,
                        const TcpSegmentSpec& segment, uint8_t hop_limit = 64);

// An IP header and a UDP datagram carrying `payload`, likewise.
size_t write_udp_packet(std::span<uint8_t> buffer, const IpAddress& src, const IpAddress& dst,
                        uint16_t src_port, uint16_t dst_port, std::span<const uint8_t> payload,
                        uint8_t hop_limit = 64);

}  // namespace fairway
