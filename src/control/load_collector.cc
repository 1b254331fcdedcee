#include "control/load_collector.h"

#include "report/signature.h"

namespace fairway {
namespace {

constexpr size_t kMaxBodyBytes = 4096;
constexpr size_t kMaxLoggedPairs = 1024;

}  // namespace

LoadCollector::Outcome LoadCollector::refuse(ReportRejection reason, int status,
                                             std::string message, const std::string& source) {
  ++rejected_[static_cast<size_t>(reason)];
  Outcome verdict{status, reason, std::move(message), false};
  // Once per (source, reason): a hostile or broken agent must not flood the log. The set is
  // bounded; past it nothing more is logged (the counters still count).
  if (logged_.size() < kMaxLoggedPairs) verdict.log = logged_.emplace(source, reason).second;
  return verdict;
}

LoadCollector::Outcome LoadCollector::submit(const std::string& body, const std::string& signature,
                                             const std::string& source, uint64_t wall_now_ms,
                                             SteadyTime now) {
  if (!config_.enabled()) {
    return refuse(ReportRejection::feedback_disabled, 403,
                  "load reports are off: no load_feedback key is configured", source);
  }
  // Authenticate before reading anything: without the key nobody can make us parse or store.
  if (!signature_matches(config_.key, body, signature)) {
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
  return Outcome{};
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
