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
    out << "fairway_flows{worker=\"" << w["worker"].get<int>() << "\"} " << w["flows"].get<uint64_t>()
        << '\n';
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

}  // namespace

std::string render_metrics(const nlohmann::json& stats) {
  std::ostringstream out;
  family(out, "fairway_snapshot_version", "gauge", "Version of the published snapshot.");
  out << "fairway_snapshot_version " << stats.value("snapshot_version", uint64_t{0}) << '\n';
  if (stats.contains("last_publication_us")) {
    family(out, "fairway_last_publication_seconds", "gauge",
           "Time from the last snapshot switch until every worker ran it.");
    out << "fairway_last_publication_seconds " << stats["last_publication_us"].get<double>() / 1e6
        << '\n';
  }
  if (stats.contains("workers")) worker_counters(out, stats["workers"]);
  if (stats.contains("ports")) port_counters(out, stats["ports"]);
  return out.str();
}

}  // namespace fairway
