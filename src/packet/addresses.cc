#include "packet/addresses.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

namespace fairway {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddress mac;
  for (size_t i = 0; i < 6; ++i) {
    int hi = hex_digit(text[i * 3]);
    int lo = hex_digit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && text[i * 3 + 2] != ':') return std::nullopt;
    mac.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return mac;
}

std::string MacAddress::to_string() const {
  char out[18];
  std::snprintf(out, sizeof out, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return out;
}

IpAddress IpAddress::from_v6(const uint8_t* sixteen_bytes) {
  IpAddress a;
  std::memcpy(a.bytes.data(), sixteen_bytes, 16);
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t raw[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, raw) != 1) return std::nullopt;
    return from_v4(raw);
  }
  if (inet_pton(AF_INET6, buf, raw) != 1) return std::nullopt;
  return from_v6(raw);
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4()) {
    inet_ntop(AF_INET, v4_bytes(), buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  IpPrefix prefix{*address, static_cast<uint8_t>(address->is_v4() ? 32 : 128)};
  if (slash == std::string_view::npos) return prefix;
  std::string_view len_text = text.substr(slash + 1);
  unsigned length = 0;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
  if (ec != std::errc() || end != len_text.data() + len_text.size() || len_text.empty()) {
    return std::nullopt;
  }
  if (length > (address->is_v4() ? 32u : 128u)) return std::nullopt;
  prefix.length = static_cast<uint8_t>(length);
  return prefix;
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.is_v4() != address.is_v4()) return false;
  unsigned bits = mapped_length();
  unsigned full_bytes = bits / 8;
  if (std::memcmp(a.bytes.data(), address.bytes.data(), full_bytes) != 0) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full_bytes] & mask) == (address.bytes[full_bytes] & mask);
}

std::string IpPrefix::to_string() const {
  return address.to_string() + "/" + std::to_string(length);
}

std::string endpoint_text(const IpAddress& address, uint16_t port) {
  std::string text;
  if (!address.is_v4()) text.push_back('[');
  text.append(address.to_string());
  if (!address.is_v4()) text.push_back(']');
  text.push_back(':');
  text.append(std::to_string(port));
  return text;
}

std::optional<EndpointText> parse_endpoint_text(std::string_view text, const char** problem) {
  auto fail = [&](const char* what) -> std::optional<EndpointText> {
    if (problem != nullptr) *problem = what;
    return std::nullopt;
  };
  std::string_view address = text;
  std::optional<uint16_t> port;
  const size_t colon = text.rfind(':');
  const bool bracketed = text.starts_with('[');
  // A port follows the last ':' of "[v6]:port" or of "v4:port"; a bare IPv6 address has several.
  if (colon != std::string_view::npos && (bracketed || text.find(':') == colon)) {
    address = text.substr(0, colon);
    if (bracketed) {
      if (address.size() < 2 || address.back() != ']') return fail("is not an address");
      address = address.substr(1, address.size() - 2);
    }
    std::string_view digits = text.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value == 0 ||
        value > 65535) {
      return fail("has no valid port");
    }
    port = static_cast<uint16_t>(value);
  } else if (bracketed) {
    return fail("is not an address");
  }
  auto parsed = IpAddress::parse(address);
  if (!parsed) return fail("is not an address");
  return EndpointText{*parsed, port};
}

}  // namespace fairway
