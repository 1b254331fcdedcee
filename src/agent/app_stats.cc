#include "agent/app_stats.h"

#include <fmt/format.h>
#include <httplib.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "agent/command.h"

namespace fairway::agent {
namespace {

// A JSON number that can be a rate or a duration: finite and not negative.
std::optional<double> non_negative_number(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  const double value = it->get<double>();
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

}  // namespace

AppStatsResult parse_app_stats(std::string_view json_text) {
  AppStatsResult result;
  auto json = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    result.error = "not a JSON object";
    return result;
  }
  auto rps = non_negative_number(json, "requests_per_second");
  auto mean_ms = non_negative_number(json, "mean_response_ms");
  if (!rps || !mean_ms) {
    result.error = fmt::format("{} missing or not a non-negative number",
                               !rps ? "requests_per_second" : "mean_response_ms");
    return result;
  }
  result.stats = AppStats{.requests_per_second = *rps, .mean_response_ms = *mean_ms};
  return result;
}

AppStatsSource AppStatsSource::from_url(HttpUrl url, int timeout_ms) {
  AppStatsSource source;
  source.url_ = std::move(url);
  source.timeout_ms_ = timeout_ms;
  return source;
}

AppStatsSource AppStatsSource::from_command(std::string command, int timeout_ms) {
  AppStatsSource source;
  source.command_ = std::move(command);
  source.timeout_ms_ = timeout_ms;
  return source;
}

AppStatsResult AppStatsSource::fetch() const {
  AppStatsResult result;
  if (!url_) {
    CommandResult run = run_command(command_, timeout_ms_);
    if (!run.output) {
      result.error = "command " + run.error;
      return result;
    }
    return parse_app_stats(*run.output);
  }
  httplib::Client client(url_->endpoint.host, url_->endpoint.port);
  const time_t seconds = timeout_ms_ / 1000;
  const time_t microseconds = (timeout_ms_ % 1000) * 1000;
  client.set_connection_timeout(seconds, microseconds);
  client.set_read_timeout(seconds, microseconds);
  client.set_write_timeout(seconds, microseconds);
  httplib::Result answer = client.Get(url_->path.c_str());
  if (!answer) {
    result.error = "GET: " + httplib::to_string(answer.error());
    return result;
  }
  if (answer->status / 100 != 2) {
    result.error = fmt::format("GET: HTTP status {}", answer->status);
    return result;
  }
  return parse_app_stats(answer->body);
}

std::string AppStatsSource::describe() const {
  if (url_) return "http://" + host_port_text(url_->endpoint) + url_->path;
  return "command '" + command_ + "'";
}

}  // namespace fairway::agent
