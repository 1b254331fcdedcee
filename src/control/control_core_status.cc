// What the control API reads of the control core: its status, the services with their back-ends'
// state and counters, the deny lists.
#include <cmath>

#include "control/control_core.h"
#include "control/status_json.h"

namespace fairway {
namespace {

double rounded_seconds(ControlCore::Clock::duration d) {
  return std::round(std::chrono::duration<double>(d).count() * 1000) / 1000;
}

}  // namespace

BackendStatus ControlCore::backend_status(const Service& service, const Backend& backend,
                                          Clock::time_point now) const {
  const BackendId id = BackendId::of(service.name, backend);
  BackendStatus out;
  out.backend = id.endpoint();
  out.weight = backend.weight;
  out.effective_weight = backend.effective_weight;
  out.drained = backend.drained;
  out.removed = backend.removed;
  out.state = backend.removed       ? "removed"
              : !backend.up         ? "down"
              : backend.drained     ? "drained"
              : backend.weight == 0 ? "weight 0"
                                    : "up";
  out.traffic = data_plane_.backend_traffic(backend.stats_slot);
  out.flows = data_plane_.backend_flows(backend.stats_slot);
  if (const HealthStatus* health = health_.status(id)) {
    out.health = {health_state_name(health->state), health->checks, health->failures,
                  health->last_error};
  }
  // Why it has the weight it has: the distributor's reason under least-load.
  if (auto d = distribution_.find(id); d != distribution_.end() && !backend.removed) {
    out.load = BackendStatus::Load{d->second.factor, d->second.reason, d->second.smoothed_load};
  }
  if (auto agent = collector_.agents().find(backend.address); agent != collector_.agents().end()) {
    const LoadCollector::AgentState& state = agent->second;
    out.report = BackendStatus::Report{rounded_seconds(now - state.received_at),
                                       collector_.is_stale(state, now), state.report.cpu_percent,
                                       state.report.memory_percent, state.report.active_clients};
  }
  return out;
}

std::vector<ServiceStatus> ControlCore::service_status(Clock::time_point now) const {
  std::vector<ServiceStatus> out;
  for (const Service& s : data_plane_.running()->services) {
    ServiceStatus status;
    status.name = s.name;
    status.vip = s.vip;
    status.port = s.port;
    status.protocol = s.protocol == kProtoTcp ? "tcp" : "udp";
    status.mode = s.mode == ForwardingMode::nat ? "nat" : "dsr";
    // A retired service is no longer in the configuration: it keeps the default scheduler.
    status.scheduler = scheduler_name(Scheduler::maglev);
    status.on_backend_down = s.on_backend_down == BackendDownPolicy::reset ? "reset" : "keep";
    status.accepting = s.accepting;
    status.syn_proxy = syn_proxy_name(s.syn_proxy);
    status.events = data_plane_.service_events(s.stats_slot);
    for (const ServiceConfig& sc : config_.services) {
      if (sc.name != s.name) continue;
      status.scheduler = scheduler_name(sc.scheduler);
      for (const IpPrefix& prefix : sc.deny_clients)
        status.deny_clients.push_back(prefix.to_string());
    }
    for (const Backend& b : s.backends) {
      status.backends.push_back(backend_status(s, b, now));
      status.traffic += status.backends.back().traffic;
      status.flows += status.backends.back().flows;
    }
    out.push_back(std::move(status));
  }
  return out;
}

nlohmann::json ControlCore::deny_lists() const {
  auto texts = [](const std::vector<IpPrefix>& prefixes) {
    nlohmann::json out = nlohmann::json::array();
    for (const IpPrefix& p : prefixes) out.push_back(p.to_string());
    return out;
  };
  nlohmann::json services = nlohmann::json::object();
  for (const ServiceConfig& s : config_.services) {
    if (!s.deny_clients.empty()) services[s.name] = texts(s.deny_clients);
  }
  uint64_t denied = 0;
  for (const WorkerState& w : data_plane_.workers()) {
    denied += w.counters.drops[static_cast<size_t>(DropReason::denied_client)];
  }
  return {{"global", texts(config_.deny_clients)}, {"services", services}, {"denied", denied}};
}

DaemonStatus ControlCore::status(Clock::time_point now) const {
  DaemonStatus out;
  out.config = config_.source_path;
  out.uptime_seconds = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now - started_at_).count());
  out.snapshot_version = data_plane_.running()->version;
  out.last_publication_us = static_cast<double>(last_publication_ns_) / 1000.0;
  out.services = config_.services.size();
  out.retiring_services = runtime_.retired_services.size();
  for (const auto& [_, list] : runtime_.retired_backends) out.retiring_backends += list.size();
  out.backends_down = runtime_.down.size();
  out.workers = data_plane_.workers();
  return out;
}

std::optional<FlowFilter> ControlCore::service_filter(const std::string& name) const {
  for (const Service& s : data_plane_.running()->services) {
    if (s.name != name) continue;
    return FlowFilter::of_service(s);
  }
  return std::nullopt;
}

}  // namespace fairway
