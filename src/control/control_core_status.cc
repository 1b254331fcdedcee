// What the control API reads of the control core: its status, the services with their back-ends'
// state and counters, the deny lists.
#include <cmath>

#include "control/control_core.h"

namespace fairway {
namespace {

nlohmann::json traffic_json(const BackendTraffic& t) {
  return {{"flows_created", t.flows_created}, {"flows_reset", t.flows_reset},
          {"packets_in", t.packets_in},       {"bytes_in", t.bytes_in},
          {"packets_out", t.packets_out},     {"bytes_out", t.bytes_out}};
}

double rounded_seconds(ControlCore::Clock::duration d) {
  return std::round(std::chrono::duration<double>(d).count() * 1000) / 1000;
}

}  // namespace

nlohmann::json ControlCore::backend_json(const Service& service, const Backend& backend,
                                         Clock::time_point now) const {
  std::string key = backend_key(backend.address, backend.port);
  nlohmann::json out = {{"backend", key},
                        {"weight", backend.weight},
                        {"effective_weight", backend.effective_weight},
                        {"drained", backend.drained},
                        {"removed", backend.removed}};
  out.update(traffic_json(data_plane_.backend_traffic(backend.stats_slot)));
  // The effective state, most decisive first: what gets new flows is "up" only.
  const char* state = backend.removed       ? "removed"
                      : !backend.up         ? "down"
                      : backend.drained     ? "drained"
                      : backend.weight == 0 ? "weight 0"
                                            : "up";
  out["state"] = state;
  if (const HealthStatus* health = health_.status(service.name, key)) {
    out["health"] = {{"state", health_state_name(health->state)},
                     {"checks", health->checks},
                     {"failures", health->failures},
                     {"last_error", health->last_error}};
  } else {
    out["health"] = {{"state", "unchecked"}};
  }
  // Why it has the weight it has: the distributor's reason under least-load.
  auto distributed = distribution_.find({service.name, key});
  if (distributed != distribution_.end() && !backend.removed) {
    const DistributorOutput& d = distributed->second;
    out["load"] = {{"factor", d.factor}, {"reason", d.reason}};
    if (d.smoothed_load) out["load"]["smoothed"] = *d.smoothed_load;
  }
  if (auto agent = collector_.agents().find(backend.address); agent != collector_.agents().end()) {
    const LoadCollector::AgentState& state = agent->second;
    out["report_age_seconds"] = rounded_seconds(now - state.received_at);
    out["report_stale"] = collector_.is_stale(state, now);
    out["report"] = {{"cpu_percent", state.report.cpu_percent},
                     {"memory_percent", state.report.memory_percent},
                     {"active_clients", state.report.active_clients}};
  }
  return out;
}

nlohmann::json ControlCore::services(Clock::time_point now) const {
  nlohmann::json out = nlohmann::json::array();
  for (const Service& s : data_plane_.running()->services) {
    nlohmann::json backends = nlohmann::json::array();
    BackendTraffic traffic;  // the service's: the sum of its back-ends'
    for (const Backend& b : s.backends) {
      backends.push_back(backend_json(s, b, now));
      traffic += data_plane_.backend_traffic(b.stats_slot);
    }
    const ServiceEvents events = data_plane_.service_events(s.stats_slot);
    nlohmann::json deny = nlohmann::json::array();
    // A retired service is no longer in the configuration: it keeps the default scheduler's name.
    Scheduler scheduler = Scheduler::maglev;
    for (const ServiceConfig& sc : config_.services) {
      if (sc.name != s.name) continue;
      scheduler = sc.scheduler;
      for (const IpPrefix& prefix : sc.deny_clients) deny.push_back(prefix.to_string());
    }
    nlohmann::json counters = {{"syns", events.syns},
                               {"flows_untracked", events.flows_untracked},
                               {"denied", events.denied},
                               {"cookies_sent", events.cookies_sent},
                               {"cookies_validated", events.cookies_validated},
                               {"cookies_invalid", events.cookies_invalid}};
    counters.update(traffic_json(traffic));
    out.push_back(
        {{"name", s.name},
         {"vip", s.vip.to_string()},
         {"port", s.port},
         {"protocol", s.protocol == kProtoTcp ? "tcp" : "udp"},
         {"mode", s.mode == ForwardingMode::nat ? "nat" : "dsr"},
         {"scheduler", scheduler_name(scheduler)},
         {"on_backend_down", s.on_backend_down == BackendDownPolicy::reset ? "reset" : "keep"},
         {"accepting", s.accepting},
         {"syn_proxy", syn_proxy_name(s.syn_proxy)},
         {"counters", counters},
         {"deny_clients", deny},
         {"backends", backends}});
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

nlohmann::json ControlCore::status(Clock::time_point now) const {
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerState& w : data_plane_.workers()) {
    workers.push_back({{"worker", w.index},
                       {"lcore", w.lcore},
                       {"snapshot_version", w.snapshot_version},
                       {"flows", w.flows},
                       {"half_open_flows", w.half_open},
                       {"under_pressure", w.under_pressure},
                       {"load_percent", std::round(w.load * 1000) / 10},
                       {"busy_cycles", w.counters.busy_cycles}});
  }
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started_at_);
  size_t retired_backends = 0;
  for (const auto& [_, list] : runtime_.retired_backends) retired_backends += list.size();
  return {{"program", "fairwayd"},
          {"version", FAIRWAY_VERSION},
          {"config", config_.source_path},
          {"uptime_seconds", uptime.count()},
          {"snapshot_version", data_plane_.running()->version},
          {"last_publication_us", last_publication_ns_ / 1000.0},
          {"services", config_.services.size()},
          {"retiring",
           {{"services", runtime_.retired_services.size()}, {"backends", retired_backends}}},
          {"backends_down", runtime_.down.size()},
          {"workers", workers}};
}

std::optional<FlowFilter> ControlCore::service_filter(const std::string& name) const {
  for (const Service& s : data_plane_.running()->services) {
    if (s.name != name) continue;
    FlowFilter filter;
    filter.vip = s.vip;
    filter.vip_port = s.port;
    filter.protocol = s.protocol;
    return filter;
  }
  return std::nullopt;
}

}  // namespace fairway
