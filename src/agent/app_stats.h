#pragma once
// The application's own figures (requests per second, mean response time), from a URL on the
// server (--app-url) or a command's output (--app-command). Both answer one JSON object:
//
//   {"requests_per_second": 85.0, "mean_response_ms": 3.2}
//
// Both keys are needed, as non-negative finite numbers; other keys are ignored.
#include <optional>
#include <string>
#include <string_view>

#include "agent/arguments.h"

namespace fairway::agent {

struct AppStats {
  double requests_per_second = 0;
  double mean_response_ms = 0;
};

struct AppStatsResult {
  std::optional<AppStats> stats;
  std::string error;  // when !stats: why, for the log
};

AppStatsResult parse_app_stats(std::string_view json_text);

class AppStatsSource {
 public:
  // GET url, connection and read timeouts of `timeout_ms` each; a non-2xx answer is an error.
  static AppStatsSource from_url(HttpUrl url, int timeout_ms);
  // /bin/sh -c command, killed after `timeout_ms` (run_command).
  static AppStatsSource from_command(std::string command, int timeout_ms);

  AppStatsResult fetch() const;
  std::string describe() const;  // "http://127.0.0.1:8080/fairway-stats" or "command '...'"

 private:
  std::optional<HttpUrl> url_;
  std::string command_;
  int timeout_ms_ = 1000;
};

}  // namespace fairway::agent
