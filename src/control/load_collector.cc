#include "control/load_collector.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace fairway {
namespace {

constexpr size_t kMaxBodyBytes = 4096;
constexpr size_t kMaxLoggedPairs = 1024;
constexpr uint64_t kMinIntervalMs = 100;
constexpr uint64_t kMaxIntervalMs = 3'600'000;
constexpr uint64_t kMaxClients = 100'000'000;
constexpr double kMaxRequestsPerSecond = 1e9;
constexpr double kMaxResponseMs = 3'600'000;

const char* const kRejectionNames[] = {
#define FAIRWAY_REJECTION_NAME(name) #name,
    FAIRWAY_REPORT_REJECTIONS(FAIRWAY_REJECTION_NAME)
#undef FAIRWAY_REJECTION_NAME
};

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int value = 0;
    for (char c : hex.substr(i, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= c - '0';
      else if (c >= 'a' && c <= 'f')
        value |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        value |= c - 'A' + 10;
      else
        return std::nullopt;
    }
    out.push_back(static_cast<char>(value));
  }
  return out;
}

struct FieldReader {
  const nlohmann::json& json;
  ReportRejection& reason;
  std::string& error;

  bool fail(ReportRejection why, const std::string& message) {
    reason = why;
    error = message;
    return false;
  }
  bool number(const char* key, double min, double max, double& out, bool required = true,
              bool* present = nullptr) {
    auto it = json.find(key);
    if (it == json.end()) {
      if (present) *present = false;
      return !required || fail(ReportRejection::malformed, std::string(key) + ": missing");
    }
    if (present) *present = true;
    if (!it->is_number())
      return fail(ReportRejection::malformed, std::string(key) + ": not a number");
    out = it->get<double>();
    if (!std::isfinite(out) || out < min || out > max) {
      return fail(ReportRejection::out_of_range,
                  std::string(key) + ": " + it->dump() + " is out of range, expected " +
                      nlohmann::json(min).dump() + ".." + nlohmann::json(max).dump());
    }
    return true;
  }
  bool integer(const char* key, uint64_t min, uint64_t max, uint64_t& out) {
    auto it = json.find(key);
    if (it == json.end()) return fail(ReportRejection::malformed, std::string(key) + ": missing");
    if (!it->is_number_unsigned()) {
      return fail(ReportRejection::malformed,
                  std::string(key) + ": " + it->dump() + " is not an unsigned integer");
    }
    out = it->get<uint64_t>();
    if (out < min || out > max) {
      return fail(ReportRejection::out_of_range,
                  std::string(key) + ": " + it->dump() + " is out of range, expected " +
                      std::to_string(min) + ".." + std::to_string(max));
    }
    return true;
  }
};

}  // namespace

const char* rejection_name(ReportRejection reason) {
  return kRejectionNames[static_cast<size_t>(reason)];
}

std::string hmac_sha256_hex(const std::string& key, const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

std::optional<LoadReport> parse_load_report(const std::string& body, ReportRejection& reason,
                                            std::string& error) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    reason = ReportRejection::malformed;
    error = "the body is not a JSON object";
    return std::nullopt;
  }
  static const std::set<std::string> kKeys = {
      "agent",           "address",        "timestamp_ms",
      "sequence",        "interval_ms",    "cpu_percent",
      "memory_percent",  "active_clients", "requests_per_second",
      "mean_response_ms"};
  for (const auto& [key, _] : json.items()) {
    if (kKeys.count(key) == 0) {
      reason = ReportRejection::malformed;
      error = "unknown field '" + key.substr(0, 40) + "'";
      return std::nullopt;
    }
  }
  LoadReport report;
  FieldReader read{json, reason, error};
  auto agent = json.find("agent");
  if (agent == json.end() || !agent->is_string() || agent->get<std::string>().empty() ||
      agent->get<std::string>().size() > 64) {
    read.fail(ReportRejection::malformed, "agent: expected the agent's name, 1..64 characters");
    return std::nullopt;
  }
  report.agent = agent->get<std::string>();
  auto address = json.find("address");
  std::optional<IpAddress> parsed;
  if (address != json.end() && address->is_string())
    parsed = IpAddress::parse(address->get<std::string>());
  if (!parsed) {
    read.fail(ReportRejection::malformed, "address: expected the back-end's IP address");
    return std::nullopt;
  }
  report.address = *parsed;
  double rps = 0, response = 0;
  bool has_rps = false, has_response = false;
  bool ok = read.integer("timestamp_ms", 1, UINT64_MAX / 2, report.timestamp_ms) &&
            read.integer("sequence", 0, UINT64_MAX / 2, report.sequence) &&
            read.integer("interval_ms", kMinIntervalMs, kMaxIntervalMs, report.interval_ms) &&
            read.number("cpu_percent", 0, 100, report.cpu_percent) &&
            read.number("memory_percent", 0, 100, report.memory_percent) &&
            read.integer("active_clients", 0, kMaxClients, report.active_clients) &&
            read.number("requests_per_second", 0, kMaxRequestsPerSecond, rps, false, &has_rps) &&
            read.number("mean_response_ms", 0, kMaxResponseMs, response, false, &has_response);
  if (!ok) return std::nullopt;
  if (has_rps) report.requests_per_second = rps;
  if (has_response) report.mean_response_ms = response;
  return report;
}

LoadCollector::Verdict LoadCollector::refuse(ReportRejection reason, int status,
                                             std::string message, const std::string& source) {
  ++rejected_[static_cast<size_t>(reason)];
  Verdict verdict{status, reason, std::move(message), false};
  // Once per (source, reason): a hostile or broken agent must not flood the log. The set is
  // bounded; past it nothing more is logged (the counters still count).
  if (logged_.size() < kMaxLoggedPairs) verdict.log = logged_.emplace(source, reason).second;
  return verdict;
}

LoadCollector::Verdict LoadCollector::submit(const std::string& body, const std::string& signature,
                                             const std::string& source, uint64_t wall_now_ms,
                                             SteadyTime now) {
  if (!config_.enabled()) {
    return refuse(ReportRejection::feedback_disabled, 403,
                  "load reports are off: no load_feedback key is configured", source);
  }
  // Authenticate before reading anything: without the key nobody can make us parse or store.
  constexpr std::string_view kPrefix = "sha256=";
  auto given = signature.rfind(kPrefix, 0) == 0
                   ? hex_decode(std::string_view(signature).substr(kPrefix.size()))
                   : std::nullopt;
  auto expected = hex_decode(hmac_sha256_hex(config_.key, body));
  if (!given || given->size() != expected->size() ||
      CRYPTO_memcmp(given->data(), expected->data(), given->size()) != 0) {
    return refuse(ReportRejection::bad_signature, 401,
                  "X-Fairway-Signature missing or wrong (expected sha256=<hex HMAC-SHA256 of the "
                  "body with the shared key>)",
                  source);
  }
  if (body.size() > kMaxBodyBytes) {
    return refuse(ReportRejection::malformed, 400, "the report is larger than 4 KiB", source);
  }
  ReportRejection reason = ReportRejection::malformed;
  std::string error;
  auto report = parse_load_report(body, reason, error);
  if (!report) return refuse(reason, 400, error, source);
  uint64_t skew = report->timestamp_ms > wall_now_ms ? report->timestamp_ms - wall_now_ms
                                                     : wall_now_ms - report->timestamp_ms;
  if (skew > config_.max_clock_skew_ms) {
    return refuse(ReportRejection::clock_skew, 409,
                  "timestamp_ms is " + std::to_string(skew) +
                      " ms from this box's clock, expected "
                      "within " +
                      std::to_string(config_.max_clock_skew_ms) +
                      " ms (replayed, or a clock "
                      "out of sync)",
                  source);
  }
  auto it = agents_.find(report->address);
  if (it != agents_.end() && report->sequence <= it->second.report.sequence) {
    return refuse(ReportRejection::replayed, 409,
                  "sequence " + std::to_string(report->sequence) + " is not above " +
                      std::to_string(it->second.report.sequence) + ", the last accepted for " +
                      report->address.to_string(),
                  source);
  }
  if (it == agents_.end()) {
    if (agents_.size() >= kMaxAgents) {
      return refuse(ReportRejection::too_many_agents, 409,
                    "already " + std::to_string(kMaxAgents) + " agents", source);
    }
    it = agents_.emplace(report->address, AgentState{}).first;
  }
  it->second.report = std::move(*report);
  it->second.received_at = now;
  it->second.source = source;
  ++it->second.accepted;
  ++accepted_;
  return Verdict{};
}

bool LoadCollector::is_stale(const AgentState& agent, SteadyTime now) const {
  auto limit = std::chrono::milliseconds(agent.report.interval_ms * config_.stale_after);
  return now - agent.received_at > limit;
}

const LoadReport* LoadCollector::fresh(const IpAddress& address, SteadyTime now) const {
  auto it = agents_.find(address);
  if (it == agents_.end() || is_stale(it->second, now)) return nullptr;
  return &it->second.report;
}

}  // namespace fairway
