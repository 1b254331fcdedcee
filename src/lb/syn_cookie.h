#pragma once
// SYN cookies for the SYN proxy (docs/ARCHITECTURE.md, "SYN proxy"): the initial sequence number
// the load balancer answers a client's SYN with, from which the client's ACK alone proves that the
// client owns its address and tells what the SYN asked for, so that a SYN costs no state.
//
// A cookie is 32 bits: a 5-bit clock (64-second periods of the wall clock, so that every node
// with the same key accepts every other node's cookies), a 3-bit MSS class and 24 bits of a keyed
// SipHash-2-4 (libsodium) of the flow's 4-tuple, the client's ISN, the clock and the MSS class.
// A cookie is accepted in the period it was made and the next one (64 to 128 s).
#include <array>
#include <cstdint>
#include <optional>

#include "lb/flow_key.h"

namespace fairway {

using SynCookieKey = std::array<uint8_t, 16>;

// A fresh random key (libsodium's CSPRNG).
SynCookieKey random_syn_cookie_key();
// A key derived from a secret of any length (BLAKE2b, libsodium): nodes that share the secret
// accept each other's cookies.
SynCookieKey syn_cookie_key_from_secret(const uint8_t* secret, size_t length);

inline constexpr uint32_t kSynCookiePeriodSeconds = 64;

// The MSS classes a cookie can carry: the largest one not above the client's MSS is kept.
inline constexpr std::array<uint16_t, 8> kSynCookieMss = {536,  1220, 1300, 1360,
                                                          1400, 1440, 1460, 8960};
// The class of `mss` (0 for none or below 536).
uint8_t syn_cookie_mss_class(uint16_t mss);

// The clock a cookie carries for a wall-clock time in seconds since the epoch.
inline uint32_t syn_cookie_clock(uint64_t wall_seconds) {
  return static_cast<uint32_t>(wall_seconds / kSynCookiePeriodSeconds);
}

// `key` is the flow as the client sent it (client -> VIP); `client_isn` the SYN's sequence number.
uint32_t make_syn_cookie(const SynCookieKey& secret, const FlowKey& key, uint32_t client_isn,
                         uint32_t clock, uint8_t mss_class);

// The MSS class of a valid cookie, or nothing. `client_isn` is the ACK's sequence number minus 1,
// `cookie` its acknowledgment number minus 1.
std::optional<uint8_t> check_syn_cookie(const SynCookieKey& secret, const FlowKey& key,
                                        uint32_t client_isn, uint32_t cookie, uint32_t clock);

}  // namespace fairway
