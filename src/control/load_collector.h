#pragma once
// The load collector: validates and keeps the agents' load reports (docs/AGENT.md), one per
// back-end address. A report is accepted only when its HMAC-SHA256 matches the shared key, its
// fields are all there and in range, its timestamp is within the allowed clock skew and its
// sequence number is above the last one accepted for that address (so a captured report cannot
// be replayed). Everything else is refused with a reason, counted, and logged once per source
// and reason. A report older than `stale_after` of its intervals is stale: the distributor then
// falls back to the admin weight. Pure control-side code: the caller supplies the clocks.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/config.h"
#include "packet/addresses.h"
#include "report/load_report.h"

namespace fairway {

class LoadCollector {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  static constexpr size_t kMaxAgents = 4096;

  void configure(const LoadFeedbackConfig& config) { config_ = config; }

  struct Outcome {
    int status = 200;  // 200 accepted; 400 malformed/out of range; 401 signature; 409 replay/skew
    std::optional<ReportRejection> rejection;
    std::string message;
    bool log = false;  // first time this source gets this rejection: worth a log line
  };
  // `signature` is the X-Fairway-Signature header ("sha256=<hex>"), `source` the peer address
  // (for counting and logging only: an agent may report from any address), `agent` the
  // X-Fairway-Agent header (the back-end address it reports for; empty from older agents),
  // which picks the key: the address's own (load_feedback.agents) or else the shared one.
  Outcome submit(const std::string& body, const std::string& signature, const std::string& source,
                 uint64_t wall_now_ms, SteadyTime now, const std::string& agent = {});

  struct AgentState {
    LoadReport report;
    SteadyTime received_at;
    std::string source;
    uint64_t accepted = 0;
  };
  // The latest report for `address` when it is not stale, else nullptr.
  const LoadReport* fresh(const IpAddress& address, SteadyTime now) const;
  bool is_stale(const AgentState& agent, SteadyTime now) const;
  const std::map<IpAddress, AgentState>& agents() const { return agents_; }
  const std::array<uint64_t, static_cast<size_t>(ReportRejection::count)>& rejected() const {
    return rejected_;
  }
  uint64_t accepted() const { return accepted_; }

 private:
  Outcome refuse(ReportRejection reason, int status, std::string message,
                 const std::string& source);

  LoadFeedbackConfig config_;
  std::map<IpAddress, AgentState> agents_;
  std::array<uint64_t, static_cast<size_t>(ReportRejection::count)> rejected_{};
  uint64_t accepted_ = 0;
  std::set<std::pair<std::string, ReportRejection>> logged_;  // bounded: see refuse()
};

}  // namespace fairway
