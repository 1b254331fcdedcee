#include "api/metrics.h"

#include <sstream>

namespace fairway {
namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void family(std::ostringstream& out, const std::string& name, const char* type,
            const std::string& help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// busy_cycles in seconds (Prometheus wants time in seconds, not TSC cycles of this machine).
void worker_busy(std::ostringstream& out, const nlohmann::json& workers, double tsc_hz) {
  if (workers.empty() || tsc_hz <= 0) return;
  family(out, "fairway_worker_busy_seconds_total", "counter",
         "Time each worker spent on poll iterations that received packets.");
  for (const auto& w : workers) {
    out << "fairway_worker_busy_seconds_total{worker=\"" << w["worker"].get<int>() << "\"} "
        << static_cast<double>(w["counters"]["busy_cycles"].get<uint64_t>()) / tsc_hz << '\n';
  }
}

void worker_counters(std::ostringstream& out, const nlohmann::json& workers) {
  if (workers.empty()) return;
  for (const auto& [counter, _] : workers[0]["counters"].items()) {
    if (counter == "drops") continue;
    const std::string name = "fairway_" + counter + "_total";
    family(out, name, "counter", "Worker counter " + counter + ", per worker.");
    for (const auto& w : workers) {
      out << name << "{worker=\"" << w["worker"].get<int>() << "\"} "
          << w["counters"][counter].get<uint64_t>() << '\n';
    }
  }
  family(out, "fairway_drops_total", "counter", "Packets dropped, by worker and reason.");
  for (const auto& w : workers) {
    for (const auto& [reason, count] : w["counters"]["drops"].items()) {
      out << "fairway_drops_total{worker=\"" << w["worker"].get<int>() << "\",reason=\""
          << escape_label(reason) << "\"} " << count.get<uint64_t>() << '\n';
    }
  }
  family(out, "fairway_flows", "gauge", "Flow-table entries in use, per worker.");
  for (const auto& w : workers) {
    out << "fairway_flows{worker=\"" << w["worker"].get<int>() << "\"} "
        << w["flows"].get<uint64_t>() << '\n';
  }
  family(out, "fairway_half_open_flows", "gauge",
         "Flow-table entries that have seen only a SYN, per worker.");
  for (const auto& w : workers) {
    out << "fairway_half_open_flows{worker=\"" << w["worker"].get<int>() << "\"} "
        << w.value("half_open_flows", uint64_t{0}) << '\n';
  }
  family(out, "fairway_flow_table_under_pressure", "gauge",
         "1 while the worker's flow table is under pressure (half-open flows evicted first).");
  for (const auto& w : workers) {
    out << "fairway_flow_table_under_pressure{worker=\"" << w["worker"].get<int>() << "\"} "
        << (w.value("under_pressure", false) ? 1 : 0) << '\n';
  }
  family(out, "fairway_worker_snapshot_version", "gauge",
         "Snapshot version each worker acknowledged running.");
  for (const auto& w : workers) {
    out << "fairway_worker_snapshot_version{worker=\"" << w["worker"].get<int>() << "\"} "
        << w["snapshot_version"].get<uint64_t>() << '\n';
  }
}

void port_counters(std::ostringstream& out, const nlohmann::json& ports) {
  if (ports.empty()) return;
  for (const auto& [counter, _] : ports[0]["device"].items()) {
    const std::string name = "fairway_port_" + counter + "_total";
    family(out, name, "counter", "Data port device counter " + counter + ".");
    for (const auto& p : ports) {
      out << name << "{port=\"" << escape_label(p["name"].get<std::string>()) << "\"} "
          << p["device"][counter].get<uint64_t>() << '\n';
    }
  }
}

std::string backend_labels(const nlohmann::json& service, const nlohmann::json& backend) {
  return "{service=\"" + escape_label(service["name"].get<std::string>()) + "\",backend=\"" +
         escape_label(backend["backend"].get<std::string>()) + "\"}";
}

// Per service and back-end: new flows, effective weight, state and health.
void service_metrics(std::ostringstream& out, const nlohmann::json& services) {
  family(out, "fairway_backend_flows_created_total", "counter",
         "New flows scheduled to the back-end, summed over workers.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      out << "fairway_backend_flows_created_total" << backend_labels(s, b) << ' '
          << b["flows_created"].get<uint64_t>() << '\n';
    }
  }
  family(
      out, "fairway_backend_flows_reset_total", "counter",
      "Flows ended because the back-end went down (on_backend_down: reset), summed over workers.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      out << "fairway_backend_flows_reset_total" << backend_labels(s, b) << ' '
          << b["flows_reset"].get<uint64_t>() << '\n';
    }
  }
  // direction "in": client to back-end, forwarded; "out": back-end to client, translated back
  // (nat only: dsr replies do not pass through the load balancer).
  for (const auto& [unit, help] :
       {std::pair{"packets", "Packets"}, std::pair{"bytes", "Frame bytes"}}) {
    const std::string name = std::string("fairway_backend_") + unit + "_total";
    family(out, name, "counter",
           std::string(help) + " forwarded to (in) and translated back from (out) the back-end.");
    for (const auto& s : services) {
      for (const auto& b : s["backends"]) {
        std::string labels = backend_labels(s, b);
        labels.pop_back();  // the closing brace: a direction label follows
        for (const char* direction : {"in", "out"}) {
          out << name << labels << ",direction=\"" << direction << "\"} "
              << b[std::string(unit) + "_" + direction].get<uint64_t>() << '\n';
        }
      }
    }
  }
  family(out, "fairway_backend_weight", "gauge", "Administrative weight of the back-end.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      out << "fairway_backend_weight" << backend_labels(s, b) << ' ' << b["weight"].get<uint64_t>()
          << '\n';
    }
  }
  family(out, "fairway_backend_up", "gauge",
         "1 when the back-end takes new flows (in service, healthy, weight above 0), else 0.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      out << "fairway_backend_up" << backend_labels(s, b) << ' '
          << (b["state"].get<std::string>() == "up" ? 1 : 0) << '\n';
    }
  }
  family(out, "fairway_backend_healthy", "gauge",
         "Health-check state: 1 up, 0 down, -1 not yet known; absent when not checked.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      const std::string state = b["health"]["state"].get<std::string>();
      if (state == "unchecked") continue;
      out << "fairway_backend_healthy" << backend_labels(s, b) << ' '
          << (state == "up"     ? 1
              : state == "down" ? 0
                                : -1)
          << '\n';
    }
  }
  family(out, "fairway_backend_health_check_failures_total", "counter",
         "Failed health checks of the back-end.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      if (!b["health"].contains("failures")) continue;
      out << "fairway_backend_health_check_failures_total" << backend_labels(s, b) << ' '
          << b["health"]["failures"].get<uint64_t>() << '\n';
    }
  }
  family(
      out, "fairway_backend_effective_weight", "gauge",
      "Weight Maglev uses: 0 when drained, down or removed; the distributor's under least-load.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      if (!b.contains("effective_weight")) continue;
      out << "fairway_backend_effective_weight" << backend_labels(s, b) << ' '
          << b["effective_weight"].get<uint64_t>() << '\n';
    }
  }
  family(out, "fairway_backend_load_factor", "gauge",
         "least-load: the distributor's multiplier on the admin weight.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      if (!b.contains("load")) continue;
      out << "fairway_backend_load_factor" << backend_labels(s, b) << ' '
          << b["load"]["factor"].get<double>() << '\n';
    }
  }
  struct Reported {
    const char* family;
    const char* field;
    double scale;
    const char* help;
  };
  const Reported reported[] = {
      {"fairway_backend_cpu_utilization_ratio", "cpu_percent", 0.01,
       "CPU utilization the back-end's agent reported (0..1)."},
      {"fairway_backend_memory_utilization_ratio", "memory_percent", 0.01,
       "Memory utilization the back-end's agent reported (0..1)."},
      {"fairway_backend_active_clients", "active_clients", 1,
       "Established connections the back-end's agent reported on its served ports."},
  };
  for (const Reported& r : reported) {
    family(out, r.family, "gauge", r.help);
    for (const auto& s : services) {
      for (const auto& b : s["backends"]) {
        if (!b.contains("report")) continue;
        out << r.family << backend_labels(s, b) << ' '
            << b["report"][r.field].get<double>() * r.scale << '\n';
      }
    }
  }
  family(out, "fairway_backend_report_age_seconds", "gauge",
         "Age of the back-end's last accepted load report.");
  for (const auto& s : services) {
    for (const auto& b : s["backends"]) {
      if (!b.contains("report_age_seconds")) continue;
      out << "fairway_backend_report_age_seconds" << backend_labels(s, b) << ' '
          << b["report_age_seconds"].get<double>() << '\n';
    }
  }
  const Reported edge[] = {
      {"fairway_service_syns_total", "syns", 1, "Bare SYNs (no ACK) that reached the service."},
      {"fairway_service_flows_untracked_total", "flows_untracked", 1,
       "New flows forwarded without a flow-table entry (buckets full of established flows)."},
      {"fairway_service_denied_total", "denied", 1,
       "Packets to the service dropped by a deny list (global or its own)."},
      {"fairway_service_syn_cookies_sent_total", "cookies_sent", 1,
       "SYNs the service's SYN proxy answered with a cookie."},
      {"fairway_service_syn_cookies_validated_total", "cookies_validated", 1,
       "ACKs whose cookie was good: proxied flows opened."},
      {"fairway_service_syn_cookies_invalid_total", "cookies_invalid", 1,
       "ACKs without a flow and with a bad cookie, dropped (syn_proxy: always)."},
  };
  for (const Reported& r : edge) {
    family(out, r.family, "counter", r.help);
    for (const auto& s : services) {
      if (!s.contains("counters")) continue;
      out << r.family << "{service=\"" << escape_label(s["name"].get<std::string>()) << "\"} "
          << s["counters"][r.field].get<uint64_t>() << '\n';
    }
  }
  family(out, "fairway_service_accepting", "gauge",
         "1 while the service takes new flows; 0 once removed but still carrying flows.");
  for (const auto& s : services) {
    out << "fairway_service_accepting{service=\"" << escape_label(s["name"].get<std::string>())
        << "\"} " << (s["accepting"].get<bool>() ? 1 : 0) << '\n';
  }
}

}  // namespace

std::string render_metrics(const nlohmann::json& stats) {
  std::ostringstream out;
  family(out, "fairway_build_info", "gauge", "Always 1; the version of fairwayd in a label.");
  out << "fairway_build_info{version=\"" << escape_label(FAIRWAY_VERSION) << "\"} 1\n";
  family(out, "fairway_snapshot_version", "gauge", "Version of the published snapshot.");
  out << "fairway_snapshot_version " << stats.value("snapshot_version", uint64_t{0}) << '\n';
  if (stats.contains("last_publication_us")) {
    family(out, "fairway_last_publication_seconds", "gauge",
           "Time from the last snapshot switch until every worker ran it.");
    out << "fairway_last_publication_seconds " << stats["last_publication_us"].get<double>() / 1e6
        << '\n';
  }
  if (stats.contains("workers")) {
    worker_counters(out, stats["workers"]);
    worker_busy(out, stats["workers"], stats.value("tsc_hz", 0.0));
  }
  if (stats.contains("ports")) port_counters(out, stats["ports"]);
  if (stats.contains("flow_capacity_per_worker")) {
    family(out, "fairway_flow_table_capacity", "gauge", "Flows each worker's table can hold.");
    out << "fairway_flow_table_capacity " << stats["flow_capacity_per_worker"].get<uint64_t>()
        << '\n';
  }
  if (stats.contains("services")) service_metrics(out, stats["services"]);
  if (stats.contains("exception_path")) {
    const auto& kernel = stats["exception_path"];
    family(out, "fairway_kernel_sent_total", "counter",
           "Frames the exception path wrote to the kernel, by class (drops: "
           "fairway_drops_total{reason=\"kernel_queue_full_*\"}).");
    for (const auto& [cls, sent] : kernel["sent"].items()) {
      out << "fairway_kernel_sent_total{class=\"" << escape_label(cls) << "\"} "
          << sent.get<uint64_t>() << '\n';
    }
  }
  if (stats.contains("agents")) {
    const auto& agents = stats["agents"];
    family(out, "fairway_agent_reports_total", "counter",
           "Agents' load reports: accepted, or refused by reason.");
    out << "fairway_agent_reports_total{result=\"accepted\"} " << agents["accepted"].get<uint64_t>()
        << '\n';
    for (const auto& [reason, count] : agents["rejected"].items()) {
      out << "fairway_agent_reports_total{result=\"" << escape_label(reason) << "\"} "
          << count.get<uint64_t>() << '\n';
    }
  }
  return out.str();
}

}  // namespace fairway
