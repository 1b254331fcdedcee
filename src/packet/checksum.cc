#include "packet/checksum.h"

#include <array>
#include <cstring>

#include "packet/byte_order.h"
#include "packet/headers.h"
#include "packet/parse.h"

namespace fairway {
namespace {

uint32_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

// Sums around the checksum field instead of zeroing it, so the input stays const. The offset is
// even in every header we handle, so the two halves chain without a byte shift.
uint32_t sum_skipping_field(std::span<const uint8_t> bytes, size_t field_offset, uint32_t initial) {
  if (field_offset + 2 > bytes.size()) return checksum_partial(bytes, initial);
  uint32_t sum = checksum_partial(bytes.first(field_offset), initial);
  return checksum_partial(bytes.subspan(field_offset + 2), sum);
}

// UDP reserves 0 for "no checksum" (RFC 768), so a computed 0 goes on the wire as its other
// one's-complement form.
uint16_t l4_result(uint8_t protocol, uint32_t sum) {
  uint16_t checksum = checksum_fold(sum);
  if (protocol == kProtoUdp && checksum == 0) return 0xffff;
  return checksum;
}

}  // namespace

// Sums 32-bit words into 64 bits and folds once at the end (RFC 1071's deferred carries):
// 2^16 = 1 modulo 2^16 - 1, so a 32-bit word counts as the sum of its two 16-bit halves.
uint32_t checksum_partial(std::span<const uint8_t> bytes, uint32_t initial) {
  uint64_t sum = initial;
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    sum += (w & 0xffffffffu) + (w >> 32);
  }
  if (n >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    sum += w;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    sum += load_raw16(p);
    p += 2;
    n -= 2;
  }
  if (n != 0) {
    // The odd byte is the first byte of a word whose second byte is zero.
    std::array<uint8_t, 2> last = {*p, 0};
    sum += load_raw16(last.data());
  }
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  return fold(static_cast<uint32_t>(sum));
}

uint16_t checksum_fold(uint32_t sum) {
  return static_cast<uint16_t>(~fold(sum));
}

uint16_t ipv4_header_checksum(std::span<const uint8_t> header) {
  return checksum_fold(sum_skipping_field(header, ipv4::kChecksum, 0));
}

uint16_t l4_checksum_ipv4(const uint8_t* src4, const uint8_t* dst4, uint8_t protocol,
                          std::span<const uint8_t> l4, size_t checksum_offset) {
  std::array<uint8_t, 12> pseudo{};
  std::memcpy(pseudo.data(), src4, 4);
  std::memcpy(pseudo.data() + 4, dst4, 4);
  pseudo[9] = protocol;
  store_be16(pseudo.data() + 10, static_cast<uint16_t>(l4.size()));
  uint32_t sum = checksum_partial(pseudo);
  return l4_result(protocol, sum_skipping_field(l4, checksum_offset, sum));
}

uint16_t l4_checksum_ipv6(const uint8_t* src16, const uint8_t* dst16, uint8_t next_header,
                          std::span<const uint8_t> l4, size_t checksum_offset) {
  std::array<uint8_t, 40> pseudo{};
  std::memcpy(pseudo.data(), src16, 16);
  std::memcpy(pseudo.data() + 16, dst16, 16);
  store_be32(pseudo.data() + 32, static_cast<uint32_t>(l4.size()));
  pseudo[39] = next_header;
  uint32_t sum = checksum_partial(pseudo);
  return l4_result(next_header, sum_skipping_field(l4, checksum_offset, sum));
}

uint16_t icmpv4_checksum(std::span<const uint8_t> icmp) {
  return checksum_fold(sum_skipping_field(icmp, icmp::kChecksum, 0));
}

uint16_t checksum_update16(uint16_t old_checksum, uint16_t old_value, uint16_t new_value) {
  uint32_t sum = uint16_t(~old_checksum);
  sum += uint16_t(~old_value);
  sum += new_value;
  return checksum_fold(sum);
}

uint16_t checksum_update32(uint16_t old_checksum, uint32_t old_value, uint32_t new_value) {
  uint8_t old_bytes[4];
  uint8_t new_bytes[4];
  std::memcpy(old_bytes, &old_value, 4);
  std::memcpy(new_bytes, &new_value, 4);
  return checksum_update_bytes(old_checksum, old_bytes, new_bytes, 4);
}

// 32 bits at a time with the carries deferred to the end, as in checksum_partial (see
// checksum_difference). An IPv4 address is one step; folding after every 16-bit word cost three
// times the instructions on every NAT rewrite.
uint16_t checksum_update_bytes(uint16_t old_checksum, const uint8_t* old_bytes,
                               const uint8_t* new_bytes, size_t length) {
  return checksum_apply(old_checksum, checksum_difference(old_bytes, new_bytes, length));
}

}  // namespace fairway
