#pragma once
// Replies the data plane generates itself, written over the received frame in place.
// `buffer` is the frame's whole writable room (its length >= frame_length); each function returns
// the reply's length, or 0 when no reply must be sent (e.g. never reset a reset) or it does not fit.
// Replies go back where the packet came from: MACs, addresses and ports are swapped.
#include <cstddef>
#include <cstdint>
#include <span>

#include "packet/parse.h"

namespace fairway {

// TCP reset per RFC 9293 section 3.10.7.1: if the segment has ACK, <SEQ=SEG.ACK><CTL=RST>;
// otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> where SYN and FIN each count one.
// IPv4 options and IPv6 extension headers are not copied; TTL / hop limit 64.
size_t build_tcp_reset(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p);

// ICMP echo reply (type 0) / ICMPv6 echo reply (type 129) with the request's identifier,
// sequence and data.
size_t build_icmp_echo_reply(std::span<uint8_t> buffer, size_t frame_length,
                             const ParsedPacket& p);

// ICMP destination unreachable / port unreachable (3/3) or ICMPv6 (1/4) quoting the offending
// datagram: as much as keeps the reply within 576 bytes (IPv4) or 1280 bytes (IPv6).
size_t build_icmp_port_unreachable(std::span<uint8_t> buffer, size_t frame_length,
                                   const ParsedPacket& p);

}  // namespace fairway
