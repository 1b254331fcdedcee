#pragma once
// Address types shared by the whole project. IPv4 is held as an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) so that flow keys, tables and lookups have one shape for both families.
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fairway {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static std::optional<MacAddress> parse(std::string_view text);  // "02:00:00:00:00:01"
  std::string to_string() const;
  bool is_zero() const { return bytes == std::array<uint8_t, 6>{}; }
  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

// The first 12 bytes of an IPv4-mapped IPv6 address.
inline constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // network byte order; IPv4 as ::ffff:a.b.c.d

  // Inline: the parser builds two per packet. Assembled in a vector register so that it is
  // stored whole: the pipeline reads it back as 16 bytes at once right after parsing, and a load
  // spanning several narrower stores still in the store buffer waits for them to drain.
  static IpAddress from_v4(const uint8_t* four_bytes) {
    IpAddress a;
#if defined(__SSE2__)
    uint32_t v4;
    std::memcpy(&v4, four_bytes, 4);
    const __m128i whole = _mm_set_epi32(static_cast<int>(v4), static_cast<int>(0xffff0000u), 0, 0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(a.bytes.data()), whole);
#else
    a.bytes[10] = 0xff;
    a.bytes[11] = 0xff;
    std::memcpy(a.bytes.data() + 12, four_bytes, 4);
#endif
    return a;
  }
  static IpAddress from_v6(const uint8_t* sixteen_bytes);
  static std::optional<IpAddress> parse(std::string_view text);  // "198.18.0.1" or "2001:2::1"
  bool is_v4() const { return std::memcmp(bytes.data(), kV4MappedPrefix, 12) == 0; }
  const uint8_t* v4_bytes() const { return bytes.data() + 12; }
  std::string to_string() const;
  // Two 64-bit compares: on the per-packet path, where a memcmp call would cost more.
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    uint64_t x[2], y[2];
    std::memcpy(x, a.bytes.data(), 16);
    std::memcpy(y, b.bytes.data(), 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

// "198.18.0.1:80" or "[2001:2::1]:80": brackets keep an IPv6 address readable next to a port.
// Also the stable key a back-end goes by (Maglev, API paths, counters).
std::string endpoint_text(const IpAddress& address, uint16_t port);

// An address with an optional port, as operators write it: "198.18.1.11", "198.18.1.11:80",
// "2001:2::11" or "[2001:2::11]:80". nullopt when the address or a given port (1..65535) is bad;
// then `problem` (if given) says which: "has no valid port" or "is not an address".
struct EndpointText {
  IpAddress address;
  std::optional<uint16_t> port;
};
std::optional<EndpointText> parse_endpoint_text(std::string_view text,
                                                const char** problem = nullptr);

// An address with a prefix length, e.g. 198.18.0.1/24. For IPv4 the length is 0..32 as written;
// in IPv4-mapped terms it covers bits 96 + length.
struct IpPrefix {
  IpAddress address;
  uint8_t length = 0;  // as written: 0..32 for IPv4, 0..128 for IPv6

  static std::optional<IpPrefix> parse(std::string_view text);
  bool contains(const IpAddress& a) const;
  uint8_t mapped_length() const { return address.is_v4() ? uint8_t(96 + length) : length; }
  std::string to_string() const;
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

}  // namespace fairway
