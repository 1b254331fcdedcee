#include "api/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <deque>
#include <functional>
#include <string_view>

namespace fairway {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// The families of one scrape, built from a snapshot of the status: no registry that would keep
// state between scrapes, since every value already lives in fairwayd's own counters.
class Exposition {
 public:
  MetricFamily& counter(const std::string& name, const std::string& help) {
    return add(name, help, MetricType::Counter);
  }
  MetricFamily& gauge(const std::string& name, const std::string& help) {
    return add(name, help, MetricType::Gauge);
  }
  static void sample(MetricFamily& family, Labels labels, double value) {
    ClientMetric metric;
    metric.label = std::move(labels);
    if (family.type == MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
  }
  std::string text() const {
    return prometheus::TextSerializer().Serialize({families_.begin(), families_.end()});
  }

 private:
  MetricFamily& add(const std::string& name, const std::string& help, MetricType type) {
    families_.push_back(MetricFamily{name, help, type, {}});
    return families_.back();
  }
  std::deque<MetricFamily> families_;  // a deque: adding a family keeps references to the others
};

double as_double(uint64_t value) {
  return static_cast<double>(value);
}

void worker_metrics(Exposition& out, const Stats& stats) {
  auto per_worker = [&](MetricFamily& family,
                        const std::function<double(const WorkerState&)>& value) {
    for (const WorkerState& w : stats.workers) {
      Exposition::sample(family, {{"worker", std::to_string(w.index)}}, value(w));
    }
  };
  // Busy time is exported in seconds (below), not in this machine's TSC cycles.
#define FAIRWAY_EVENT_METRIC(name)                                                              \
  if (std::string_view(#name) != "busy_cycles") {                                               \
    per_worker(out.counter("fairway_" #name "_total", "Worker counter " #name ", per worker."), \
               [](const WorkerState& w) { return as_double(w.counters.name); });                \
  }
  FAIRWAY_EVENT_COUNTERS(FAIRWAY_EVENT_METRIC)
#undef FAIRWAY_EVENT_METRIC
  MetricFamily& drops =
      out.counter("fairway_drops_total", "Packets dropped, by worker and reason.");
  for (const WorkerState& w : stats.workers) {
    for (size_t reason = 1; reason < kDropReasonCount; ++reason) {
      Exposition::sample(
          drops,
          {{"worker", std::to_string(w.index)}, {"reason", std::string(kDropReasonNames[reason])}},
          as_double(w.counters.drops[reason]));
    }
  }
  per_worker(out.gauge("fairway_flows", "Flow-table entries in use, per worker."),
             [](const WorkerState& w) { return as_double(w.flows); });
  per_worker(out.gauge("fairway_half_open_flows",
                       "Flow-table entries that have seen only a SYN, per worker."),
             [](const WorkerState& w) { return as_double(w.half_open); });
  per_worker(out.gauge("fairway_flow_table_under_pressure",
                       "1 while the worker's flow table is under pressure (half-open flows evicted "
                       "first)."),
             [](const WorkerState& w) { return w.under_pressure ? 1.0 : 0.0; });
  per_worker(out.gauge("fairway_syn_proxy_engaged",
                       "1 while the worker answers SYNs of `syn_proxy: under_pressure` services "
                       "with cookies."),
             [](const WorkerState& w) { return w.syn_proxy_engaged ? 1.0 : 0.0; });
  per_worker(out.gauge("fairway_worker_snapshot_version",
                       "Snapshot version each worker acknowledged running."),
             [](const WorkerState& w) { return as_double(w.snapshot_version); });
  if (stats.tsc_hz != 0) {
    // Prometheus wants time in seconds, not TSC cycles of this machine.
    per_worker(out.counter("fairway_worker_busy_seconds_total",
                           "Time each worker spent on poll iterations that received packets."),
               [&](const WorkerState& w) {
                 return as_double(w.counters.busy_cycles) / as_double(stats.tsc_hz);
               });
  }
}

void port_metrics(Exposition& out, const Stats& stats) {
  struct Field {
    const char* name;
    uint64_t DeviceCounters::*value;
  };
  static constexpr Field kFields[] = {
      {"rx_packets", &DeviceCounters::rx_packets}, {"tx_packets", &DeviceCounters::tx_packets},
      {"rx_bytes", &DeviceCounters::rx_bytes},     {"tx_bytes", &DeviceCounters::tx_bytes},
      {"rx_missed", &DeviceCounters::rx_missed},   {"rx_errors", &DeviceCounters::rx_errors},
      {"tx_errors", &DeviceCounters::tx_errors},   {"rx_no_mbuf", &DeviceCounters::rx_no_mbuf}};
  for (const Field& field : kFields) {
    MetricFamily& family = out.counter(std::string("fairway_port_") + field.name + "_total",
                                       std::string("Data port device counter ") + field.name + ".");
    for (const PortStatus& p : stats.ports) {
      Exposition::sample(family, {{"port", p.name}}, as_double(p.device.*field.value));
    }
  }
}

Labels backend_labels(const ServiceStatus& s, const BackendStatus& b) {
  return {{"service", s.name}, {"backend", b.backend}};
}

// One sample per back-end of every service; `value` returns nullopt to leave a back-end out.
void per_backend(MetricFamily& family, const std::vector<ServiceStatus>& services,
                 const std::function<std::optional<double>(const BackendStatus&)>& value) {
  for (const ServiceStatus& s : services) {
    for (const BackendStatus& b : s.backends) {
      if (std::optional<double> v = value(b)) Exposition::sample(family, backend_labels(s, b), *v);
    }
  }
}

void backend_traffic_metrics(Exposition& out, const std::vector<ServiceStatus>& services) {
  per_backend(out.counter("fairway_backend_flows_created_total",
                          "New flows scheduled to the back-end, summed over workers."),
              services, [](const BackendStatus& b) { return as_double(b.traffic.flows_created); });
  MetricFamily& flows = out.gauge("fairway_backend_flows",
                                  "Flows of the back-end at the workers' last census (every 2 s): "
                                  "active (TCP established, UDP) or inactive (TCP half-open or "
                                  "closing).");
  for (const ServiceStatus& s : services) {
    for (const BackendStatus& b : s.backends) {
      for (auto [state, value] :
           {std::pair{"active", b.flows.active}, std::pair{"inactive", b.flows.inactive}}) {
        Labels labels = backend_labels(s, b);
        labels.push_back({"state", state});
        Exposition::sample(flows, std::move(labels), as_double(value));
      }
    }
  }
  per_backend(out.counter("fairway_backend_flows_reset_total",
                          "Flows ended because the back-end went down (on_backend_down: reset), "
                          "summed over workers."),
              services, [](const BackendStatus& b) { return as_double(b.traffic.flows_reset); });
  // direction "in": client to back-end, forwarded; "out": back-end to client, translated back
  // (nat only: dsr replies do not pass through the load balancer).
  struct Directed {
    const char* name;
    const char* help;
    uint64_t BackendTraffic::*in;
    uint64_t BackendTraffic::*out;
  };
  static constexpr Directed kDirected[] = {
      {"fairway_backend_packets_total",
       "Packets forwarded to (in) and translated back from (out) the back-end.",
       &BackendTraffic::packets_in, &BackendTraffic::packets_out},
      {"fairway_backend_bytes_total",
       "Frame bytes forwarded to (in) and translated back from (out) the back-end.",
       &BackendTraffic::bytes_in, &BackendTraffic::bytes_out}};
  for (const Directed& d : kDirected) {
    MetricFamily& family = out.counter(d.name, d.help);
    for (const ServiceStatus& s : services) {
      for (const BackendStatus& b : s.backends) {
        for (auto [direction, field] : {std::pair{"in", d.in}, std::pair{"out", d.out}}) {
          Labels labels = backend_labels(s, b);
          labels.push_back({"direction", direction});
          Exposition::sample(family, std::move(labels), as_double(b.traffic.*field));
        }
      }
    }
  }
}

void backend_state_metrics(Exposition& out, const std::vector<ServiceStatus>& services) {
  per_backend(out.gauge("fairway_backend_weight", "Administrative weight of the back-end."),
              services, [](const BackendStatus& b) { return as_double(b.weight); });
  per_backend(out.gauge("fairway_backend_up",
                        "1 when the back-end takes new flows (in service, "
                        "healthy, weight above 0), else 0."),
              services, [](const BackendStatus& b) { return b.takes_new_flows() ? 1.0 : 0.0; });
  per_backend(out.gauge("fairway_backend_healthy",
                        "Health-check state: 1 up, 0 down, -1 not yet known; absent when not "
                        "checked."),
              services, [](const BackendStatus& b) -> std::optional<double> {
                if (b.health.state == "unchecked") return std::nullopt;
                return b.health.state == "up" ? 1 : b.health.state == "down" ? 0 : -1;
              });
  per_backend(out.counter("fairway_backend_health_check_failures_total",
                          "Failed health checks of the back-end."),
              services, [](const BackendStatus& b) -> std::optional<double> {
                if (b.health.state == "unchecked") return std::nullopt;
                return as_double(b.health.failures);
              });
  per_backend(out.gauge("fairway_backend_effective_weight",
                        "Weight Maglev uses: 0 when drained, down or removed; the distributor's "
                        "under least-load."),
              services, [](const BackendStatus& b) { return as_double(b.effective_weight); });
  per_backend(out.gauge("fairway_backend_load_factor",
                        "least-load: the distributor's multiplier on the admin weight."),
              services, [](const BackendStatus& b) -> std::optional<double> {
                if (!b.load) return std::nullopt;
                return b.load->factor;
              });
}

void backend_report_metrics(Exposition& out, const std::vector<ServiceStatus>& services) {
  struct Reported {
    const char* name;
    const char* help;
    std::function<double(const BackendStatus::Report&)> value;
  };
  const Reported reported[] = {
      {"fairway_backend_cpu_utilization_ratio",
       "CPU utilization the back-end's agent reported (0..1).",
       [](const BackendStatus::Report& r) { return r.cpu_percent / 100; }},
      {"fairway_backend_memory_utilization_ratio",
       "Memory utilization the back-end's agent reported (0..1).",
       [](const BackendStatus::Report& r) { return r.memory_percent / 100; }},
      {"fairway_backend_active_clients",
       "Established connections the back-end's agent reported on its served ports.",
       [](const BackendStatus::Report& r) { return as_double(r.active_clients); }},
      {"fairway_backend_report_age_seconds", "Age of the back-end's last accepted load report.",
       [](const BackendStatus::Report& r) { return r.age_seconds; }}};
  for (const Reported& r : reported) {
    per_backend(out.gauge(r.name, r.help), services,
                [&](const BackendStatus& b) -> std::optional<double> {
                  if (!b.report) return std::nullopt;
                  return r.value(*b.report);
                });
  }
}

void service_metrics(Exposition& out, const std::vector<ServiceStatus>& services) {
  struct Event {
    const char* name;
    const char* help;
    uint64_t ServiceEvents::*value;
  };
  static constexpr Event kEvents[] = {
      {"fairway_service_syns_total", "Bare SYNs (no ACK) that reached the service.",
       &ServiceEvents::syns},
      {"fairway_service_flows_untracked_total",
       "New flows forwarded without a flow-table entry (buckets full of established flows).",
       &ServiceEvents::flows_untracked},
      {"fairway_service_denied_total",
       "Packets to the service dropped by a deny list (global or its own).",
       &ServiceEvents::denied},
      {"fairway_service_syn_cookies_sent_total",
       "SYNs the service's SYN proxy answered with a cookie.", &ServiceEvents::cookies_sent},
      {"fairway_service_syn_cookies_validated_total",
       "ACKs whose cookie was good: proxied flows opened.", &ServiceEvents::cookies_validated},
      {"fairway_service_syn_cookies_invalid_total",
       "ACKs without a flow and with a bad cookie, dropped (syn_proxy: always).",
       &ServiceEvents::cookies_invalid}};
  for (const Event& e : kEvents) {
    MetricFamily& family = out.counter(e.name, e.help);
    for (const ServiceStatus& s : services) {
      Exposition::sample(family, {{"service", s.name}}, as_double(s.events.*e.value));
    }
  }
  MetricFamily& accepting =
      out.gauge("fairway_service_accepting",
                "1 while the service takes new flows; 0 once removed but still carrying flows.");
  for (const ServiceStatus& s : services) {
    Exposition::sample(accepting, {{"service", s.name}}, s.accepting ? 1 : 0);
  }
}

// The node in a cluster: drain, the VIPs it announces, BIRD and flow sync (docs/SCALE-OUT.md).
void node_metrics(Exposition& out, const NodeStatus& node) {
  Exposition::sample(out.gauge("fairway_node_drained",
                               "1 while the node is draining or drained (announces no VIP)."),
                     {}, node.state == "active" ? 0 : 1);
  MetricFamily& announced =
      out.gauge("fairway_vip_announced", "1 while the node announces the VIP, 0 while withheld.");
  for (const IpAddress& vip : node.announced) {
    Exposition::sample(announced, {{"vip", vip.to_string()}}, 1);
  }
  for (const auto& [vip, reason] : node.withheld) {
    Exposition::sample(announced, {{"vip", vip.to_string()}}, 0);
  }
  if (node.bird.enabled) {
    Exposition::sample(
        out.counter("fairway_bird_reconfigurations_total", "Successful birdc configure runs."), {},
        as_double(node.bird.reconfigurations));
    Exposition::sample(out.counter("fairway_bird_failures_total",
                                   "Failed attempts to write the BIRD file or run birdc."),
                       {}, as_double(node.bird.failures));
  }
  const FlowSyncStatus& sync = node.flow_sync;
  if (!sync.enabled) return;
  MetricFamily& records =
      out.counter("fairway_flow_sync_records_total",
                  "Flow-sync records by what became of them (sent counts each peer's copy).");
  const std::pair<const char*, uint64_t> results[] = {{"sent", sync.records_sent},
                                                      {"received", sync.records_received},
                                                      {"over_rate", sync.records_over_rate},
                                                      {"not_installed", sync.records_not_installed},
                                                      {"journal_lost", sync.journal_losses}};
  for (const auto& [result, value] : results) {
    Exposition::sample(records, {{"result", result}}, as_double(value));
  }
  MetricFamily& refused =
      out.counter("fairway_flow_sync_refused_total", "Flow-sync datagrams refused, by reason.");
  for (size_t r = 1; r < sync.refused.size(); ++r) {
    Exposition::sample(refused, {{"reason", sync_refusal_name(static_cast<SyncRefusal>(r))}},
                       as_double(sync.refused[r]));
  }
}

}  // namespace

std::string render_metrics(const Stats& stats) {
  Exposition out;
  Exposition::sample(
      out.gauge("fairway_build_info", "Always 1; the version of fairwayd in a label."),
      {{"version", FAIRWAY_VERSION}}, 1);
  Exposition::sample(out.gauge("fairway_snapshot_version", "Version of the published snapshot."),
                     {}, as_double(stats.snapshot_version));
  Exposition::sample(out.gauge("fairway_last_publication_seconds",
                               "Time from the last snapshot switch until every worker ran it."),
                     {}, stats.last_publication_us / 1e6);
  worker_metrics(out, stats);
  port_metrics(out, stats);
  Exposition::sample(
      out.gauge("fairway_flow_table_capacity", "Flows each worker's table can hold."), {},
      as_double(stats.flow_capacity_per_worker));
  backend_traffic_metrics(out, stats.services);
  backend_state_metrics(out, stats.services);
  backend_report_metrics(out, stats.services);
  service_metrics(out, stats.services);
  node_metrics(out, stats.node);
  MetricFamily& kernel =
      out.counter("fairway_kernel_sent_total",
                  "Frames the exception path wrote to the kernel, by class (drops: "
                  "fairway_drops_total{reason=\"kernel_queue_full_*\"}).");
  for (size_t c = 0; c < kKernelPriorities; ++c) {
    Exposition::sample(kernel, {{"class", std::string(kKernelPriorityNames[c])}},
                       as_double(stats.exception_path.sent[c]));
  }
  MetricFamily& reports = out.counter("fairway_agent_reports_total",
                                      "Agents' load reports: accepted, or refused by reason.");
  Exposition::sample(reports, {{"result", "accepted"}}, as_double(stats.agents.reports.accepted));
  for (size_t r = 0; r < stats.agents.reports.rejected.size(); ++r) {
    Exposition::sample(reports, {{"result", rejection_name(static_cast<ReportRejection>(r))}},
                       as_double(stats.agents.reports.rejected[r]));
  }
  return out.text();
}

}  // namespace fairway
