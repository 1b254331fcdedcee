#include "control/status_json.h"

#include <cmath>
#include <cstdio>

namespace fairway {
namespace {

nlohmann::json traffic_json(const BackendTraffic& t) {
  return {{"flows_created", t.flows_created}, {"flows_reset", t.flows_reset},
          {"packets_in", t.packets_in},       {"bytes_in", t.bytes_in},
          {"packets_out", t.packets_out},     {"bytes_out", t.bytes_out}};
}

}  // namespace

nlohmann::json to_json(const BackendStatus& b) {
  nlohmann::json out = {
      {"backend", b.backend}, {"weight", b.weight},   {"effective_weight", b.effective_weight},
      {"drained", b.drained}, {"removed", b.removed}, {"state", b.state}};
  out.update(traffic_json(b.traffic));
  out["active_flows"] = b.flows.active;
  out["inactive_flows"] = b.flows.inactive;
  if (b.health.state == "unchecked") {
    out["health"] = {{"state", b.health.state}};
  } else {
    out["health"] = {{"state", b.health.state},
                     {"checks", b.health.checks},
                     {"failures", b.health.failures},
                     {"last_error", b.health.last_error}};
  }
  if (b.load) {
    out["load"] = {{"factor", b.load->factor}, {"reason", b.load->reason}};
    if (b.load->smoothed) out["load"]["smoothed"] = *b.load->smoothed;
  }
  if (b.report) {
    out["report_age_seconds"] = b.report->age_seconds;
    out["report_stale"] = b.report->stale;
    out["report"] = {{"cpu_percent", b.report->cpu_percent},
                     {"memory_percent", b.report->memory_percent},
                     {"active_clients", b.report->active_clients}};
  }
  return out;
}

nlohmann::json to_json(const ServiceStatus& s) {
  nlohmann::json counters = {{"syns", s.events.syns},
                             {"flows_untracked", s.events.flows_untracked},
                             {"denied", s.events.denied},
                             {"cookies_sent", s.events.cookies_sent},
                             {"cookies_validated", s.events.cookies_validated},
                             {"cookies_invalid", s.events.cookies_invalid}};
  counters.update(traffic_json(s.traffic));
  counters["active_flows"] = s.flows.active;
  counters["inactive_flows"] = s.flows.inactive;
  nlohmann::json backends = nlohmann::json::array();
  for (const BackendStatus& b : s.backends) backends.push_back(to_json(b));
  return {{"name", s.name},
          {"vip", s.vip.to_string()},
          {"port", s.port},
          {"protocol", s.protocol},
          {"mode", s.mode},
          {"scheduler", s.scheduler},
          {"on_backend_down", s.on_backend_down},
          {"accepting", s.accepting},
          {"syn_proxy", s.syn_proxy},
          {"counters", counters},
          {"deny_clients", s.deny_clients},
          {"backends", backends}};
}

nlohmann::json to_json(const std::vector<ServiceStatus>& services) {
  nlohmann::json out = nlohmann::json::array();
  for (const ServiceStatus& s : services) out.push_back(to_json(s));
  return out;
}

nlohmann::json to_json(const WorkerCounters& c) {
  nlohmann::json out;
#define FAIRWAY_EVENT_JSON(name) out[#name] = c.name;
  FAIRWAY_EVENT_COUNTERS(FAIRWAY_EVENT_JSON)
#undef FAIRWAY_EVENT_JSON
  nlohmann::json drops = nlohmann::json::object();
  for (size_t i = 1; i < c.drops.size(); ++i) {
    if (c.drops[i] != 0) drops[std::string(kDropReasonNames[i])] = c.drops[i];
  }
  out["drops"] = drops;
  return out;
}

nlohmann::json to_json(const DeviceCounters& d) {
  return {{"rx_packets", d.rx_packets}, {"tx_packets", d.tx_packets}, {"rx_bytes", d.rx_bytes},
          {"tx_bytes", d.tx_bytes},     {"rx_missed", d.rx_missed},   {"rx_errors", d.rx_errors},
          {"tx_errors", d.tx_errors},   {"rx_no_mbuf", d.rx_no_mbuf}};
}

nlohmann::json worker_status_json(const WorkerState& w) {
  return {{"worker", w.index},
          {"lcore", w.lcore},
          {"snapshot_version", w.snapshot_version},
          {"flows", w.flows},
          {"half_open_flows", w.half_open},
          {"under_pressure", w.under_pressure},
          {"syn_proxy_engaged", w.syn_proxy_engaged},
          {"load_percent", std::round(w.load * 1000) / 10},
          {"busy_cycles", w.counters.busy_cycles}};
}

nlohmann::json to_json(const Stats& stats) {
  WorkerCounters total;
  uint64_t flows = 0, half_open = 0;
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerState& w : stats.workers) {
    total += w.counters;
    flows += w.flows;
    half_open += w.half_open;
    workers.push_back({{"worker", w.index},
                       {"lcore", w.lcore},
                       {"snapshot_version", w.snapshot_version},
                       {"flows", w.flows},
                       {"half_open_flows", w.half_open},
                       {"under_pressure", w.under_pressure},
                       {"syn_proxy_engaged", w.syn_proxy_engaged},
                       {"counters", to_json(w.counters)}});
  }
  nlohmann::json ports = nlohmann::json::array();
  for (const PortStatus& p : stats.ports) {
    nlohmann::json port = {
        {"name", p.name}, {"mac", p.mac.to_string()}, {"device", to_json(p.device)}};
    if (!p.devices.empty()) {
      nlohmann::json per_device = nlohmann::json::array();
      for (const DeviceCounters& d : p.devices) per_device.push_back(to_json(d));
      port["devices"] = per_device;
    }
    if (p.tap) {
      port["tap"] = *p.tap;
      port["tap_device"] = to_json(p.tap_device);
    }
    ports.push_back(port);
  }
  const ExceptionPathStatus& e = stats.exception_path;
  nlohmann::json kernel = {
      {"queue_size", e.queue_size}, {"other_pps", e.other_pps}, {"tap_refused", e.tap_refused}};
  for (size_t c = 0; c < kKernelPriorities; ++c) {
    const std::string name(kKernelPriorityNames[c]);
    kernel["sent"][name] = e.sent[c];
    kernel["waiting"][name] = e.waiting[c];
  }
  return {{"snapshot_version", stats.snapshot_version},
          {"flows", flows},
          {"half_open_flows", half_open},
          {"counters", to_json(total)},
          {"workers", workers},
          {"ports", ports},
          {"last_publication_us", stats.last_publication_us},
          {"tsc_hz", stats.tsc_hz},
          {"flow_capacity_per_worker", stats.flow_capacity_per_worker},
          {"exception_path", kernel},
          {"services", to_json(stats.services)},
          {"agents", to_json(stats.agents)}};
}

nlohmann::json report_json(const LoadReport& r) {
  nlohmann::json out = {{"agent", r.agent},
                        {"address", r.address.to_string()},
                        {"sequence", r.sequence},
                        {"interval_ms", r.interval_ms},
                        {"cpu_percent", r.cpu_percent},
                        {"memory_percent", r.memory_percent},
                        {"active_clients", r.active_clients}};
  if (r.requests_per_second) out["requests_per_second"] = *r.requests_per_second;
  if (r.mean_response_ms) out["mean_response_ms"] = *r.mean_response_ms;
  return out;
}

nlohmann::json to_json(const AgentsStatus& a) {
  nlohmann::json list = nlohmann::json::array();
  for (const AgentStatus& agent : a.agents) {
    list.push_back({{"address", agent.address.to_string()},
                    {"source", agent.source},
                    {"age_seconds", agent.age_seconds},
                    {"stale", agent.stale},
                    {"accepted", agent.accepted},
                    {"report", report_json(agent.report)}});
  }
  nlohmann::json rejected = nlohmann::json::object();
  for (size_t i = 0; i < a.reports.rejected.size(); ++i) {
    rejected[rejection_name(static_cast<ReportRejection>(i))] = a.reports.rejected[i];
  }
  return {{"enabled", a.enabled},
          {"report_interval_ms", a.report_interval_ms},
          {"stale_after_intervals", a.stale_after_intervals},
          {"accepted", a.reports.accepted},
          {"rejected", rejected},
          {"agents", list}};
}

nlohmann::json to_json(const DaemonStatus& s) {
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerState& w : s.workers) workers.push_back(worker_status_json(w));
  nlohmann::json ports = nlohmann::json::array();
  for (const PortLinkStatus& p : s.ports) {
    ports.push_back({{"name", p.name},
                     {"mac", p.mac.to_string()},
                     {"devices", p.devices},
                     {"link", p.link_up ? "up" : "down"},
                     {"counters", to_json(p.counters)},
                     {"tap", p.tap ? nlohmann::json(*p.tap) : nlohmann::json()}});
  }
  return {{"program", "fairwayd"},
          {"version", FAIRWAY_VERSION},
          {"config", s.config},
          {"uptime_seconds", s.uptime_seconds},
          {"snapshot_version", s.snapshot_version},
          {"last_publication_us", s.last_publication_us},
          {"services", s.services},
          {"retiring", {{"services", s.retiring_services}, {"backends", s.retiring_backends}}},
          {"backends_down", s.backends_down},
          {"workers", workers},
          {"ports", ports}};
}

nlohmann::json to_json(const NodeStatus& node) {
  auto addresses = [](const std::vector<IpAddress>& vips) {
    nlohmann::json out = nlohmann::json::array();
    for (const IpAddress& vip : vips) out.push_back(vip.to_string());
    return out;
  };
  nlohmann::json withheld = nlohmann::json::array();
  for (const auto& [vip, reason] : node.withheld) {
    withheld.push_back({{"vip", vip.to_string()}, {"reason", reason}});
  }
  nlohmann::json out = {{"state", node.state},
                        {"flows", node.flows},
                        {"announced", addresses(node.announced)},
                        {"withheld", withheld}};
  if (node.state != "active") {
    out["drain"] = {{"seconds", node.drain_seconds},
                    {"deadline_seconds", node.deadline_seconds},
                    {"drained_because", node.drained_because}};
  }
  const FlowSyncStatus& sync = node.flow_sync;
  out["flow_sync"] = {{"enabled", sync.enabled}};
  if (sync.enabled) {
    nlohmann::json refused = nlohmann::json::object();
    for (size_t r = 1; r < sync.refused.size(); ++r) {
      refused[sync_refusal_name(static_cast<SyncRefusal>(r))] = sync.refused[r];
    }
    char node_id[16];
    std::snprintf(node_id, sizeof node_id, "%08x", sync.node_id);
    out["flow_sync"].update({{"node_id", node_id},
                             {"records_sent", sync.records_sent},
                             {"datagrams_sent", sync.datagrams_sent},
                             {"send_errors", sync.send_errors},
                             {"records_received", sync.records_received},
                             {"records_not_installed", sync.records_not_installed},
                             {"records_over_rate", sync.records_over_rate},
                             {"journal_losses", sync.journal_losses},
                             {"table_requests_sent", sync.table_requests_sent},
                             {"table_requests_answered", sync.table_requests_answered},
                             {"refreshes", sync.refreshes},
                             {"refused", refused}});
  }
  const BirdStatus& bird = node.bird;
  out["bird"] = {{"enabled", bird.enabled}};
  if (bird.enabled) {
    out["bird"].update({{"file", bird.file},
                        {"in_bird", addresses(bird.in_bird)},
                        {"pending", bird.pending},
                        {"reconfigurations", bird.reconfigurations},
                        {"failures", bird.failures},
                        {"last_error", bird.last_error}});
  }
  return out;
}

}  // namespace fairway
