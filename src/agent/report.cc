#include "agent/report.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace fairway::agent {
namespace {

double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  const double rounded = std::round(value * scale) / scale;
  return std::isfinite(rounded) ? rounded : 0.0;  // JSON has no NaN or infinity
}

}  // namespace

std::string to_json(const LoadReport& report) {
  nlohmann::ordered_json json;
  json["agent"] = report.agent;
  json["address"] = report.address;
  json["timestamp_ms"] = report.timestamp_ms;
  json["sequence"] = report.sequence;
  json["interval_ms"] = report.interval_ms;
  json["cpu_percent"] = round_to(report.cpu_percent, 1);
  json["memory_percent"] = round_to(report.memory_percent, 1);
  json["active_clients"] = report.active_clients;
  if (report.requests_per_second) {
    json["requests_per_second"] = round_to(*report.requests_per_second, 1);
  }
  if (report.mean_response_ms) json["mean_response_ms"] = round_to(*report.mean_response_ms, 3);
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // HMAC() (one shot) is not among OpenSSL 3's deprecated HMAC_CTX functions.
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0f]);
  }
  return hex;
}

std::string signature_header(std::string_view key, std::string_view body) {
  std::string value = "sha256=";
  value.append(hmac_sha256_hex(key, body));
  return value;
}

}  // namespace fairway::agent
