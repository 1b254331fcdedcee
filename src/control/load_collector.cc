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
                                             SteadyTime now, const std::string& agent) {
  if (!config_.enabled()) {
    return refuse(ReportRejection::feedback_disabled, 403,
                  "load reports are off: no load_feedback key is configured", source);
  }
  // The key is chosen from the header alone, and checked before the body is read: without it
  // nobody can make us parse or store.
  std::optional<IpAddress> claimed;
  if (!agent.empty()) {
    claimed = IpAddress::parse(agent);
    if (!claimed) {
      return refuse(ReportRejection::malformed, 400,
                    "X-Fairway-Agent: '" + agent.substr(0, 64) + "' is not an address", source);
    }
  }
  const std::string* own = claimed ? config_.own_key(*claimed) : nullptr;
  const std::string& key = own != nullptr ? *own : config_.key;
  if (key.empty()) {
    return refuse(ReportRejection::wrong_key, 401,
                  "no key for agent " + (claimed ? claimed->to_string() : std::string("(none)")) +
                      ": load_feedback.agents has none for it and there is no shared key (send "
                      "X-Fairway-Agent: ADDRESS)",
                  source);
  }
  if (!signature_matches(key, body, signature)) {
    return refuse(ReportRejection::bad_signature, 401,
                  "X-Fairway-Signature missing or wrong (expected sha256=<hex HMAC-SHA256 of the "
                  "body with " +
                      (own != nullptr ? "the key of " + claimed->to_string() : "the shared key") +
                      ">)",
                  source);
  }
  if (body.size() > kMaxBodyBytes) {
    return refuse(ReportRejection::malformed, 400, "the report is larger than 4 KiB", source);
  }
  ReportRejection reason = ReportRejection::malformed;
  std::string error;
  auto report = parse_load_report(body, reason, error);
  if (!report) return refuse(reason, 400, error, source);
  // A key speaks only for its own address, and the shared key not for addresses with their own.
  if (claimed && report->address != *claimed) {
    return refuse(ReportRejection::wrong_key, 401,
                  "the report is for " + report->address.to_string() + " but was sent as agent " +
                      claimed->to_string(),
                  source);
  }
  if (own == nullptr && config_.own_key(report->address) != nullptr) {
    return refuse(ReportRejection::wrong_key, 401,
                  report->address.to_string() +
                      " has a key of its own (load_feedback.agents): sign its reports with it and "
                      "send X-Fairway-Agent: " +
                      report->address.to_string(),
                  source);
  }
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
