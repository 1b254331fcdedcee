#pragma once
// Parsers for the values of fairway-agent's flags: endpoints, URLs, durations, addresses.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fairway::agent {

// "HOST:PORT", with an IPv6 address in brackets: "127.0.0.1:9180", "[2001:2::1]:9180",
// "lb.example:9180". The host is returned without brackets.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
std::optional<HostPort> parse_host_port(std::string_view text);

// "HOST:PORT" again, brackets around an IPv6 host, for messages and URLs.
std::string host_port_text(const HostPort& endpoint);

// "http://HOST[:PORT][/PATH]" (port 80 and path "/" by default). Only plain HTTP: the agent talks
// to an application on its own server.
struct HttpUrl {
  HostPort endpoint;
  std::string path;
};
std::optional<HttpUrl> parse_http_url(std::string_view text);

// A duration as in the configuration file: "500ms", "1s", "2m", "1m30s"; a bare number is
// seconds. In milliseconds; nullopt when malformed or zero.
std::optional<uint64_t> parse_duration_ms(std::string_view text);

// Whether `text` is an IPv4 or IPv6 address (no brackets, no port).
bool is_ip_address(const std::string& text);

}  // namespace fairway::agent
