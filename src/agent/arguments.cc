#include "agent/arguments.h"

#include <arpa/inet.h>

#include <charconv>
#include <limits>

#include "util/duration.h"

namespace fairway::agent {
namespace {

std::optional<uint64_t> to_u64(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<uint16_t> to_port(std::string_view text) {
  auto value = to_u64(text);
  if (!value || *value == 0 || *value > 65535) return std::nullopt;
  return static_cast<uint16_t>(*value);
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // brackets: IPv6 only
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  auto port_number = to_port(port);
  if (host.empty() || !port_number) return std::nullopt;
  return HostPort{.host = std::string(host), .port = *port_number};
}

std::string host_port_text(const HostPort& endpoint) {
  std::string text;
  if (endpoint.host.find(':') != std::string::npos) {
    text.append("[").append(endpoint.host).append("]");
  } else {
    text.append(endpoint.host);
  }
  text.append(":").append(std::to_string(endpoint.port));
  return text;
}

std::optional<HttpUrl> parse_http_url(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (!text.starts_with(kScheme)) return std::nullopt;
  text.remove_prefix(kScheme.size());
  const size_t slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  HttpUrl url;
  url.path = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  // Without a port, add the default one and parse the result the same way.
  const bool bracketed = authority.starts_with('[');
  const bool has_port = bracketed ? authority.find("]:") != std::string_view::npos
                                  : authority.find(':') != std::string_view::npos;
  std::string with_port(authority);
  if (!has_port) with_port.append(":80");
  auto endpoint = parse_host_port(with_port);
  if (!endpoint) return std::nullopt;
  url.endpoint = *endpoint;
  return url;
}

std::optional<uint64_t> parse_duration_ms(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (auto seconds = to_u64(text)) {
    if (*seconds == 0 || *seconds > std::numeric_limits<uint64_t>::max() / 1000) {
      return std::nullopt;
    }
    return *seconds * 1000;
  }
  // A zero or saturated (overflowing) duration is no interval.
  auto ms = parse_duration_units_ms(text);
  if (!ms || *ms == 0 || *ms == std::numeric_limits<uint64_t>::max()) return std::nullopt;
  return ms;
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace fairway::agent
