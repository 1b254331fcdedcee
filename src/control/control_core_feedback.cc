// Load feedback: the agents' reports (collector) and, once per report interval, the least-load
// distributor of every service that asks for it. Only new flows follow the weights it sets.
#include <spdlog/spdlog.h>

#include <cmath>
#include <set>

#include "control/control_core.h"

namespace fairway {
namespace {

uint64_t wall_clock_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// The figure least-load balances, from a report; nullopt when the report lacks it.
std::optional<double> metric_of(const LoadReport& report, LoadMetric metric) {
  switch (metric) {
    case LoadMetric::cpu:
      return report.cpu_percent;
    case LoadMetric::memory:
      return report.memory_percent;
    case LoadMetric::clients:
      return static_cast<double>(report.active_clients);
    case LoadMetric::response_time:
      return report.mean_response_ms;
  }
  return std::nullopt;
}

}  // namespace

ApiResult ControlCore::agent_report(const std::string& body, const std::string& signature,
                                    const std::string& source, Clock::time_point now,
                                    const std::string& agent) {
  LoadCollector::Outcome verdict =
      collector_.submit(body, signature, source, wall_clock_ms(), now, agent);
  if (!verdict.rejection) return {200, {{"accepted", true}}};
  if (verdict.log) {
    spdlog::warn("load report from {} refused ({}): {} (said once per source and reason)", source,
                 rejection_name(*verdict.rejection), verdict.message);
  }
  return {verdict.status,
          {{"error", verdict.message}, {"reason", rejection_name(*verdict.rejection)}}};
}

AgentsStatus ControlCore::agents(Clock::time_point now) const {
  AgentsStatus out;
  out.enabled = config_.load_feedback.enabled();
  out.report_interval_ms = config_.load_feedback.report_interval_ms;
  out.stale_after_intervals = config_.load_feedback.stale_after;
  out.reports = {collector_.accepted(), collector_.rejected()};
  for (const auto& [address, agent] : collector_.agents()) {
    double age = std::chrono::duration<double>(now - agent.received_at).count();
    out.agents.push_back({address, agent.source, std::round(age * 1000) / 1000,
                          collector_.is_stale(agent, now), agent.accepted, agent.report});
  }
  return out;
}

// One round per report interval for every least-load service. A service that left least-load (or
// went away) loses its distributor and its weights; the snapshot is republished only when a
// weight changed beyond the dead band.
void ControlCore::run_distributor(Clock::time_point now) {
  auto period = std::chrono::milliseconds(config_.load_feedback.report_interval_ms);
  if (now - last_distribution_ < period) return;
  last_distribution_ = now;
  bool changed = false;
  std::set<std::string> active;
  for (const ServiceConfig& service : config_.services) {
    if (service.scheduler != Scheduler::least_load) continue;
    active.insert(service.name);
    auto it = distributors_.find(service.name);
    if (it == distributors_.end() || !(it->second.config == service.least_load)) {
      it =
          distributors_
              .insert_or_assign(service.name,
                                ServiceDistributor{service.least_load,
                                                   LeastLoadDistributor(service.least_load.params)})
              .first;
    }
    std::vector<DistributorInput> inputs;
    std::map<std::string, BackendId> by_endpoint;  // the distributor keys back-ends by text
    for (const BackendConfig& b : service.backends) {
      const BackendId id = BackendId::of(service.name, b);
      by_endpoint.emplace(id.endpoint(), id);
      bool takes_flows = !b.drained && !runtime_.down.contains(id);
      DistributorInput input{id.endpoint(), takes_flows ? b.weight : 0, std::nullopt, b.capacity};
      if (const LoadReport* report = collector_.fresh(b.address, now)) {
        input.load = metric_of(*report, service.least_load.metric);
      }
      inputs.push_back(std::move(input));
    }
    LeastLoadDistributor::Round round = it->second.distributor.round(inputs);
    for (const DistributorOutput& out : round.backends) {
      const BackendId& id = by_endpoint.at(out.backend);
      runtime_.effective_weights[id] = out.effective_weight;
      distribution_[id] = out;
    }
    if (round.changed) {
      changed = true;
      std::string weights;
      for (const DistributorOutput& out : round.backends) {
        weights += fmt::format(" {}={:.2f}", out.backend, out.factor);
      }
      spdlog::info("least-load {} ({}): factors{}", service.name,
                   load_metric_name(service.least_load.metric), weights);
    }
  }
  std::erase_if(distributors_, [&](const auto& d) { return active.count(d.first) == 0; });
  size_t before = runtime_.effective_weights.size();
  std::erase_if(runtime_.effective_weights,
                [&](const auto& w) { return !active.contains(w.first.service); });
  std::erase_if(distribution_, [&](const auto& w) { return !active.contains(w.first.service); });
  if (changed || before != runtime_.effective_weights.size()) publish("load feedback");
}

}  // namespace fairway
