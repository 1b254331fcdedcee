#include "dataplane/stats.h"

#include <rte_ethdev.h>

namespace fairway {
namespace {

nlohmann::json counters_json(const WorkerCounters& c) {
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

}  // namespace

nlohmann::json device_json(const std::vector<uint16_t>& port_ids) {
  rte_eth_stats s{};
  for (uint16_t id : port_ids) {
    rte_eth_stats one{};
    rte_eth_stats_get(id, &one);
    s.ipackets += one.ipackets;
    s.opackets += one.opackets;
    s.ibytes += one.ibytes;
    s.obytes += one.obytes;
    s.imissed += one.imissed;
    s.ierrors += one.ierrors;
    s.oerrors += one.oerrors;
    s.rx_nombuf += one.rx_nombuf;
  }
  return {{"rx_packets", s.ipackets}, {"tx_packets", s.opackets}, {"rx_bytes", s.ibytes},
          {"tx_bytes", s.obytes},     {"rx_missed", s.imissed},   {"rx_errors", s.ierrors},
          {"tx_errors", s.oerrors},   {"rx_no_mbuf", s.rx_nombuf}};
}

nlohmann::json collect_stats(const std::vector<WorkerContext*>& workers,
                             const std::vector<PortRuntime>& ports_runtime, uint64_t version) {
  WorkerCounters total;
  nlohmann::json per_worker = nlohmann::json::array();
  uint64_t flows = 0;
  uint64_t half_open = 0;
  for (const WorkerContext* w : workers) {
    total += w->counters;
    uint64_t worker_flows = w->flow_count.load(std::memory_order_relaxed);
    flows += worker_flows;
    per_worker.push_back({{"worker", w->index},
                          {"lcore", w->lcore},
                          {"snapshot_version", w->running_version.load()},
                          {"flows", worker_flows},
                          {"half_open_flows", w->half_open.load(std::memory_order_relaxed)},
                          {"under_pressure", w->under_pressure.load(std::memory_order_relaxed)},
                          {"counters", counters_json(w->counters)}});
    half_open += w->half_open.load(std::memory_order_relaxed);
  }
  nlohmann::json ports = nlohmann::json::array();
  for (const PortRuntime& p : ports_runtime) {
    nlohmann::json port = {
        {"name", p.name}, {"mac", p.mac.to_string()}, {"device", device_json(p.data_port_ids)}};
    if (p.data_port_ids.size() > 1) {
      nlohmann::json per_device = nlohmann::json::array();
      for (uint16_t id : p.data_port_ids) per_device.push_back(device_json({id}));
      port["devices"] = per_device;
    }
    if (p.exception_path) {
      port["tap"] = p.tap_name;
      port["tap_device"] = device_json({p.tap_port_id});
    }
    ports.push_back(port);
  }
  return {{"snapshot_version", version},  {"flows", flows},
          {"half_open_flows", half_open}, {"counters", counters_json(total)},
          {"workers", per_worker},        {"ports", ports}};
}

}  // namespace fairway
