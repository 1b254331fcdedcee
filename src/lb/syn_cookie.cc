#include "lb/syn_cookie.h"

#include <sodium.h>

#include <cstring>

namespace fairway {
namespace {

constexpr unsigned kClockShift = 27;  // 5 bits of clock
constexpr unsigned kMssShift = 24;    // 3 bits of MSS class
constexpr uint32_t kMacMask = (1u << kMssShift) - 1;

static_assert(crypto_shorthash_KEYBYTES == sizeof(SynCookieKey));

// 24 bits of SipHash over what the cookie vouches for. The message is fixed-size and built
// field by field, so that no padding byte of FlowKey enters it.
uint32_t cookie_mac(const SynCookieKey& secret, const FlowKey& key, uint32_t client_isn,
                    uint32_t clock, uint8_t mss_class) {
  uint8_t message[16 + 16 + 2 + 2 + 4 + 4 + 1];
  uint8_t* at = message;
  std::memcpy(at, key.src.bytes.data(), 16);
  at += 16;
  std::memcpy(at, key.dst.bytes.data(), 16);
  at += 16;
  std::memcpy(at, &key.src_port, 2);
  at += 2;
  std::memcpy(at, &key.dst_port, 2);
  at += 2;
  std::memcpy(at, &client_isn, 4);
  at += 4;
  std::memcpy(at, &clock, 4);
  at += 4;
  *at = mss_class;
  uint8_t digest[crypto_shorthash_BYTES];
  crypto_shorthash(digest, message, sizeof message, secret.data());
  uint32_t bits;
  std::memcpy(&bits, digest, 4);
  return bits & kMacMask;
}

}  // namespace

SynCookieKey random_syn_cookie_key() {
  if (sodium_init() < 0) std::abort();  // no randomness: nothing safe to do
  SynCookieKey key;
  randombytes_buf(key.data(), key.size());
  return key;
}

SynCookieKey syn_cookie_key_from_secret(const uint8_t* secret, size_t length) {
  SynCookieKey key;
  crypto_generichash(key.data(), key.size(), secret, length, nullptr, 0);
  return key;
}

uint8_t syn_cookie_mss_class(uint16_t mss) {
  uint8_t best = 0;
  for (uint8_t i = 0; i < kSynCookieMss.size(); ++i) {
    if (kSynCookieMss[i] <= mss) best = i;
  }
  return best;
}

uint32_t make_syn_cookie(const SynCookieKey& secret, const FlowKey& key, uint32_t client_isn,
                         uint32_t clock, uint8_t mss_class) {
  mss_class &= 7;
  return (clock & 31u) << kClockShift | uint32_t{mss_class} << kMssShift |
         cookie_mac(secret, key, client_isn, clock, mss_class);
}

std::optional<uint8_t> check_syn_cookie(const SynCookieKey& secret, const FlowKey& key,
                                        uint32_t client_isn, uint32_t cookie, uint32_t clock) {
  const uint32_t carried = cookie >> kClockShift;
  const uint8_t mss_class = static_cast<uint8_t>((cookie >> kMssShift) & 7);
  // The current period or the one before: the clock the cookie was made with, in full.
  for (uint32_t made : {clock, clock - 1}) {
    if ((made & 31u) != carried) continue;
    if (cookie_mac(secret, key, client_isn, made, mss_class) == (cookie & kMacMask)) {
      return mss_class;
    }
  }
  return std::nullopt;
}

}  // namespace fairway
