#pragma once
// The frames the SYN proxy writes (docs/ARCHITECTURE.md, "SYN proxy"), each over a received frame
// in place. `buffer` is the frame's whole writable room; builders return the new frame's length,
// or 0 when it does not fit. IPv4 options and IPv6 extension headers are not kept; TTL / hop
// limit 64; IPv4 with DF and ID 0, like the other frames the data plane writes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "packet/addresses.h"
#include "packet/parse.h"

namespace fairway {

// The MSS option of a TCP segment, or 0 when it has none or its options are malformed.
uint16_t tcp_mss_option(std::span<const uint8_t> frame, const ParsedPacket& p);

// Answers a client's SYN: <SEQ=cookie><ACK=SEG.SEQ+1><CTL=SYN,ACK> with one option, MSS = `mss`
// (no window scale, SACK or timestamps: the back-end's side is opened without them too), back
// where the SYN came from (MACs, addresses and ports swapped).
size_t build_syn_cookie_reply(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p,
                              uint32_t cookie, uint16_t mss, uint16_t window);

// A client's segment made into the SYN that opens the back-end's side of a proxied connection:
// from the client's address and port to backend:port, <SEQ=client_isn><CTL=SYN>, MSS = `mss`,
// any payload dropped. The MACs are the caller's to set.
size_t build_backend_syn(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p,
                         const IpAddress& backend, uint16_t backend_port_host, uint32_t client_isn,
                         uint16_t mss, uint16_t window);

// A back-end's SYN-ACK made into the ACK that completes its handshake, sent back to it in the
// client's name: <SEQ=SEG.ACK><ACK=SEG.SEQ+1><CTL=ACK>, MACs, addresses and ports swapped.
size_t build_backend_ack(std::span<uint8_t> buffer, size_t frame_length, const ParsedPacket& p,
                         uint16_t window);

// Sequence translation of a proxied connection, checksum updated incrementally.
// Adds `offset` to the acknowledgment number (client -> back-end, when ACK is set).
void shift_tcp_ack(std::span<uint8_t> frame, const ParsedPacket& p, uint32_t offset);
// Subtracts `offset` from the sequence number (back-end -> client).
void shift_tcp_seq(std::span<uint8_t> frame, const ParsedPacket& p, uint32_t offset);

}  // namespace fairway
