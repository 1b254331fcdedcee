#pragma once
// The load report fairway-agent sends to fairwayd, its JSON form and its signature.
//
// Wire format (POST /api/v1/agents/report, Content-Type: application/json), one compact JSON
// object, keys in this order, the last two only when the application's figures are known:
//
//   {"agent":"be1","address":"198.18.1.11","timestamp_ms":1795662148017,"sequence":42,
//    "interval_ms":1000,"cpu_percent":37.5,"memory_percent":41.2,"active_clients":12,
//    "requests_per_second":85.0,"mean_response_ms":3.2}
//
// Header X-Fairway-Signature: "sha256=" + lowercase hex HMAC-SHA256(key, the exact body bytes).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fairway::agent {

struct LoadReport {
  std::string agent;          // --name
  std::string address;        // --address: the back-end address in fairwayd's configuration
  int64_t timestamp_ms = 0;   // wall clock (CLOCK_REALTIME) when the report was made
  uint64_t sequence = 0;      // starts at the wall clock in ms at agent start, +1 per report
  uint64_t interval_ms = 0;   // --interval
  double cpu_percent = 0;     // 0..100, over the last interval
  double memory_percent = 0;  // 0..100
  uint64_t active_clients = 0;
  std::optional<double> requests_per_second;  // from --app-url / --app-command
  std::optional<double> mean_response_ms;
};

// Compact JSON, keys in the order above. Percentages and requests per second are rounded to 0.1,
// the response time to 0.001 ms: finer digits are noise and would only lengthen the body.
// Numbers without a fraction are still written with ".0" ("85.0"). Never throws (text that is
// not valid UTF-8 is replaced by U+FFFD).
std::string to_json(const LoadReport& report);

// Lowercase hex HMAC-SHA256 of `body` with `key` (OpenSSL).
std::string hmac_sha256_hex(std::string_view key, std::string_view body);

// The X-Fairway-Signature header's value: "sha256=" + hmac_sha256_hex(key, body).
std::string signature_header(std::string_view key, std::string_view body);

constexpr const char* kSignatureHeader = "X-Fairway-Signature";
constexpr const char* kReportPath = "/api/v1/agents/report";

}  // namespace fairway::agent
