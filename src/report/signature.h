#pragma once
// The load report's signature: "sha256=" + lowercase hex HMAC-SHA256(key, the exact body bytes),
// in the header X-Fairway-Signature. One implementation for the agent that signs and the
// collector that checks (OpenSSL's one-shot HMAC()).
#include <string>
#include <string_view>

namespace fairway {

inline constexpr const char* kSignatureHeader = "X-Fairway-Signature";
// The back-end address the agent reports for: picks its own key (load_feedback.agents).
inline constexpr const char* kAgentHeader = "X-Fairway-Agent";
inline constexpr const char* kReportPath = "/api/v1/agents/report";

// Lowercase hex HMAC-SHA256 of `body` with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view body);

// The X-Fairway-Signature header's value: "sha256=" + hmac_sha256_hex(key, body).
std::string signature_header(std::string_view key, std::string_view body);

// Whether `header` is the signature of `body` with `key`, compared in constant time.
bool signature_matches(std::string_view key, std::string_view body, std::string_view header);

}  // namespace fairway
