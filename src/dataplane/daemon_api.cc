// What the control API reads: status, stats, services with their back-ends' state, flows; and
// the wiring of every API resource to the daemon under the control core's lock.
#include <rte_cycles.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "dataplane/daemon_internal.h"
#include "dataplane/flow_query_runner.h"
#include "dataplane/stats.h"

namespace fairway {
namespace {

constexpr auto kFlowQueryTimeout = std::chrono::milliseconds(2000);

nlohmann::json flow_json(const FlowRecord& record) {
  const FlowKey& key = record.key;
  const FlowValue& value = record.value;
  return {{"worker", record.worker},
          {"protocol", key.protocol == kProtoTcp   ? "tcp"
                       : key.protocol == kProtoUdp ? "udp"
                                                   : "other"},
          {"client", backend_key(key.src, key.src_port)},
          {"vip", backend_key(key.dst, key.dst_port)},
          {"backend", backend_key(value.backend, value.backend_port)},
          {"tcp_state", tcp_state_name(value.tcp_state)},
          {"expires_in_ms", record.expires_in_ms}};
}

}  // namespace

const LoadCollector::AgentState* Daemon::find_agent(const IpAddress& address) const {
  auto it = collector_.agents().find(address);
  return it == collector_.agents().end() ? nullptr : &it->second;
}

std::string Daemon::scheduler_of(const std::string& service) const {
  for (const ServiceConfig& s : config_.services) {
    if (s.name == service) return scheduler_name(s.scheduler);
  }
  return "maglev";
}

uint64_t Daemon::backend_flows_created(uint32_t stats_slot) const {
  if (stats_slot >= kBackendStatsSlots) return 0;
  uint64_t total = 0;
  for (const auto& w : workers_) total += backend_new_flows(*w, stats_slot);
  return total;
}

nlohmann::json Daemon::backend_json(const Service& service, const Backend& backend) const {
  std::string key = backend_key(backend.address, backend.port);
  nlohmann::json out = {{"backend", key},
                        {"weight", backend.weight},
                        {"effective_weight", backend.effective_weight},
                        {"drained", backend.drained},
                        {"removed", backend.removed},
                        {"flows_created", backend_flows_created(backend.stats_slot)}};
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
  if (const auto* agent = find_agent(backend.address)) {
    out["report_age_seconds"] =
        std::round(std::chrono::duration<double>(Clock::now() - agent->received_at).count() *
                   1000) /
        1000;
    out["report_stale"] = collector_.is_stale(*agent, Clock::now());
    out["report"] = {{"cpu_percent", agent->report.cpu_percent},
                     {"memory_percent", agent->report.memory_percent},
                     {"active_clients", agent->report.active_clients}};
  }
  return out;
}

nlohmann::json Daemon::services() const {
  nlohmann::json out = nlohmann::json::array();
  for (const Service& s : publisher_.current()->services) {
    nlohmann::json backends = nlohmann::json::array();
    for (const Backend& b : s.backends) backends.push_back(backend_json(s, b));
    ServiceEvents events;
    for (const auto& w : workers_) events += w->service_counters.get(s.stats_slot);
    nlohmann::json deny = nlohmann::json::array();
    for (const ServiceConfig& sc : config_.services) {
      if (sc.name != s.name) continue;
      for (const IpPrefix& prefix : sc.deny_clients) deny.push_back(prefix.to_string());
    }
    out.push_back(
        {{"name", s.name},
         {"vip", s.vip.to_string()},
         {"port", s.port},
         {"protocol", s.protocol == kProtoTcp ? "tcp" : "udp"},
         {"mode", s.mode == ForwardingMode::nat ? "nat" : "dsr"},
         {"on_backend_down", s.on_backend_down == BackendDownPolicy::reset ? "reset" : "keep"},
         {"accepting", s.accepting},
         {"syn_proxy", syn_proxy_name(s.syn_proxy)},
         {"counters",
          {{"syns", events.syns},
           {"flows_untracked", events.flows_untracked},
           {"denied", events.denied},
           {"cookies_sent", events.cookies_sent},
           {"cookies_validated", events.cookies_validated},
           {"cookies_invalid", events.cookies_invalid}}},
         {"deny_clients", deny},
         {"backends", backends}});
  }
  return out;
}

nlohmann::json Daemon::deny_lists() const {
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
  for (const auto& w : workers_) denied += w->counters.drops[static_cast<size_t>(DropReason::denied_client)];
  return {{"global", texts(config_.deny_clients)}, {"services", services}, {"denied", denied}};
}

nlohmann::json Daemon::stats() const {
  nlohmann::json out = collect_stats(worker_list(), ports_.ports(), publisher_.current()->version);
  out["last_publication_us"] = last_publication_ns_ / 1000.0;
  out["tsc_hz"] = rte_get_tsc_hz();
  out["flow_capacity_per_worker"] = config_.flow_capacity;
  nlohmann::json kernel = {{"queue_size", config_.exception_path.queue_size},
                           {"other_pps", config_.exception_path.other_pps},
                           {"tap_refused", exception_path_.tap_refused()}};
  const auto waiting = exception_path_.waiting();
  for (size_t c = 0; c < kKernelPriorities; ++c) {
    const std::string name(kKernelPriorityNames[c]);
    kernel["sent"][name] = exception_path_.sent(static_cast<KernelPriority>(c));
    kernel["waiting"][name] = waiting[c];
  }
  out["exception_path"] = kernel;
  out["services"] = services();
  out["agents"] = agents();
  return out;
}

nlohmann::json Daemon::status() const {
  nlohmann::json workers = nlohmann::json::array();
  for (size_t i = 0; i < workers_.size(); ++i) {
    const WorkerContext& w = *workers_[i];
    double load = i < worker_load_.size() ? worker_load_[i].load : 0.0;
    workers.push_back({{"worker", w.index},
                       {"lcore", w.lcore},
                       {"snapshot_version", w.running_version.load()},
                       {"flows", w.flow_count.load()},
                       {"half_open_flows", w.half_open.load()},
                       {"under_pressure", w.under_pressure.load()},
                       {"load_percent", std::round(load * 1000) / 10},
                       {"busy_cycles", w.counters.busy_cycles}});
  }
  nlohmann::json ports = nlohmann::json::array();
  for (const PortRuntime& p : ports_.ports()) {
    rte_eth_link link{};
    bool up = false;
    for (uint16_t id : p.data_port_ids) {
      if (rte_eth_link_get_nowait(id, &link) == 0) up = up || link.link_status == RTE_ETH_LINK_UP;
    }
    ports.push_back({{"name", p.name},
                     {"mac", p.mac.to_string()},
                     {"devices", p.data_port_ids.size()},
                     {"link", up ? "up" : "down"},
                     {"counters", device_json(p.data_port_ids)},
                     {"tap", p.exception_path ? nlohmann::json(p.tap_name) : nlohmann::json()}});
  }
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_at_);
  size_t retired_backends = 0;
  for (const auto& [_, list] : runtime_.retired_backends) retired_backends += list.size();
  return {{"program", "fairwayd"},
          {"version", FAIRWAY_VERSION},
          {"config", config_.source_path},
          {"uptime_seconds", uptime.count()},
          {"snapshot_version", publisher_.current()->version},
          {"last_publication_us", last_publication_ns_ / 1000.0},
          {"services", config_.services.size()},
          {"retiring",
           {{"services", runtime_.retired_services.size()}, {"backends", retired_backends}}},
          {"backends_down", runtime_.down.size()},
          {"workers", workers},
          {"ports", ports}};
}

ApiResult Daemon::flows(const FlowRequest& request) const {
  FlowFilter filter;
  if (request.service) {
    const Service* found = nullptr;
    for (const Service& s : publisher_.current()->services) {
      if (s.name == *request.service) found = &s;
    }
    if (found == nullptr) return {404, {{"error", "no service named '" + *request.service + "'"}}};
    filter.vip = found->vip;
    filter.vip_port = found->port;
    filter.protocol = found->protocol;
  }
  filter.backend = request.backend;
  filter.backend_port = request.backend_port;
  filter.client = request.client;
  FlowListing listing = query_flows(worker_list(), filter, request.limit, kFlowQueryTimeout);
  nlohmann::json flows = nlohmann::json::array();
  for (const FlowRecord& record : listing.flows) flows.push_back(flow_json(record));
  return {listing.complete ? 200 : 503,
          {{"count", listing.matched},
           {"listed", flows.size()},
           {"complete", listing.complete},
           {"flows", flows}}};
}

// The API is a convenience next to the data plane: if its address is taken the daemon still
// forwards, and says so.
void Daemon::start_api() {
  if (config_.control_listen.empty()) return;
  auto locked = [this](auto fn) {
    return [this, fn](auto&&... args) {
      std::lock_guard lock(control_mutex_);
      return fn(std::forward<decltype(args)>(args)...);
    };
  };
  ApiHandlers handlers;
  handlers.status = locked([this] { return status(); });
  handlers.stats = locked([this] { return stats(); });
  handlers.services = locked([this] { return services(); });
  handlers.flows = locked([this](const FlowRequest& request) { return flows(request); });
  handlers.change_backend = locked(
      [this](const std::string& service, const std::string& backend, const BackendChange& change) {
        return apply(change_backend(config_, service, backend, change));
      });
  handlers.add_service =
      locked([this](const std::string& body) { return apply(add_service(config_, body), 201); });
  handlers.remove_service =
      locked([this](const std::string& name) { return apply(remove_service(config_, name)); });
  handlers.add_backend = locked([this](const std::string& service, const std::string& body) {
    return apply(add_backend(config_, service, body), 201);
  });
  handlers.remove_backend = locked([this](const std::string& service, const std::string& backend) {
    return apply(remove_backend(config_, service, backend));
  });
  handlers.reload = locked([this] { return reload("API"); });
  handlers.deny_lists = locked([this] { return deny_lists(); });
  handlers.change_deny =
      locked([this](const std::string& service, const std::string& prefix, bool add) {
        return apply(change_deny_list(config_, service, prefix, add), add ? 201 : 200);
      });
  handlers.agent_report =
      locked([this](const std::string& body, const std::string& signature,
                    const std::string& source) { return agent_report(body, signature, source); });
  handlers.agents = locked([this] { return agents(); });
  std::string error;
  if (api_.start(config_.control_listen, config_.control_token, handlers, error)) {
    spdlog::info("control API on http://{}/", config_.control_listen);
  } else {
    spdlog::error("{}", error);
  }
}

}  // namespace fairway
