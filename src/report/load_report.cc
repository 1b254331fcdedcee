#include "report/load_report.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace fairway {
namespace {

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

double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  const double rounded = std::round(value * scale) / scale;
  return std::isfinite(rounded) ? rounded : 0.0;  // JSON has no NaN or infinity
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

std::string to_json(const LoadReport& report) {
  nlohmann::ordered_json json;
  json["agent"] = report.agent;
  json["address"] = report.address.to_string();
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

const char* rejection_name(ReportRejection reason) {
  return kRejectionNames[static_cast<size_t>(reason)];
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

}  // namespace fairway
