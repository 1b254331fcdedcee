#pragma once
// What fairwayd reports about itself, as types: the control API serializes these to JSON
// (control/status_json.h) and /metrics renders the same values (api/metrics.h), so a field
// renamed or dropped breaks the build, not a scrape.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/data_plane.h"
#include "control/flow_sync_status.h"
#include "packet/addresses.h"
#include "pipeline/counters.h"
#include "pipeline/kernel_priority.h"
#include "report/load_report.h"

namespace fairway {

struct BackendStatus {
  std::string backend;  // "198.18.1.11:80" / "[2001:2::11]:80"
  uint32_t weight = 0;  // admin
  uint32_t effective_weight = 0;
  bool drained = false;
  bool removed = false;
  // The effective state, most decisive first: "removed", "down", "drained", "weight 0", "up".
  std::string state;
  struct Health {
    std::string state = "unchecked";  // or "unknown", "up", "down"
    uint64_t checks = 0;
    uint64_t failures = 0;
    std::string last_error;
  };
  Health health;
  BackendTraffic traffic;
  FlowCounts flows;  // active and inactive, at the workers' last census
  // Under least-load: why the weight is what it is.
  struct Load {
    double factor = 1;
    std::string reason;
    std::optional<double> smoothed;
  };
  std::optional<Load> load;
  // With an agent reporting for the back-end's address.
  struct Report {
    double age_seconds = 0;
    bool stale = false;
    double cpu_percent = 0;
    double memory_percent = 0;
    uint64_t active_clients = 0;
  };
  std::optional<Report> report;

  bool takes_new_flows() const { return state == "up"; }
};

struct ServiceStatus {
  std::string name;
  IpAddress vip;
  uint16_t port = 0;
  std::string protocol;  // "tcp", "udp"
  std::string mode;      // "dsr", "nat"
  std::string scheduler;
  std::string on_backend_down;
  bool accepting = true;  // false: removed, kept while its flows last
  std::string syn_proxy;
  ServiceEvents events;
  BackendTraffic traffic;  // its back-ends' summed
  FlowCounts flows;        // its back-ends' summed
  std::vector<std::string> deny_clients;
  std::vector<BackendStatus> backends;
};

// The agents' reports as counted by the collector.
struct ReportCounts {
  uint64_t accepted = 0;
  std::array<uint64_t, static_cast<size_t>(ReportRejection::count)> rejected{};
};

// One back-end address's agent: its last accepted report.
struct AgentStatus {
  IpAddress address;
  std::string source;  // where the last report came from
  double age_seconds = 0;
  bool stale = false;
  uint64_t accepted = 0;
  LoadReport report;
};

struct AgentsStatus {
  bool enabled = false;  // a load_feedback key is configured
  uint64_t report_interval_ms = 0;
  uint32_t stale_after_intervals = 0;
  ReportCounts reports;
  std::vector<AgentStatus> agents;
};

// A data port's device counters (summed over its devices), as the NIC counts them.
struct DeviceCounters {
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_missed = 0;
  uint64_t rx_errors = 0;
  uint64_t tx_errors = 0;
  uint64_t rx_no_mbuf = 0;
};

struct PortStatus {
  std::string name;
  MacAddress mac;
  DeviceCounters device;                // all its devices
  std::vector<DeviceCounters> devices;  // each, when it has more than one
  std::optional<std::string> tap;       // the exception path's TAP
  DeviceCounters tap_device;
};

struct ExceptionPathStatus {
  uint32_t queue_size = 0;
  uint32_t other_pps = 0;
  uint64_t tap_refused = 0;
  std::array<uint64_t, kKernelPriorities> sent{};
  std::array<uint64_t, kKernelPriorities> waiting{};
};

// A port as GET /api/v1/status shows it.
struct PortLinkStatus {
  std::string name;
  MacAddress mac;
  size_t devices = 0;
  bool link_up = false;
  DeviceCounters counters;
  std::optional<std::string> tap;
};

// GET /api/v1/status.
struct DaemonStatus {
  std::string config;  // the file it was loaded from
  uint64_t uptime_seconds = 0;
  uint64_t snapshot_version = 0;
  double last_publication_us = 0;
  size_t services = 0;
  size_t retiring_services = 0;  // removed, kept while their flows last
  size_t retiring_backends = 0;
  size_t backends_down = 0;
  std::vector<WorkerState> workers;
  std::vector<PortLinkStatus> ports;
};

// The VIPs' announcement through BIRD (control/bird_announcer.h).
struct BirdStatus {
  bool enabled = false;
  std::string file;
  std::vector<IpAddress> in_bird;  // what BIRD was last configured with successfully
  bool pending = false;            // the wanted set differs from in_bird
  uint64_t reconfigurations = 0;   // successful `birdc configure` runs
  uint64_t failures = 0;
  std::string last_error;  // of the last failed attempt, empty once one succeeds
};

// This node as a member of a cluster (GET /api/v1/node): drained, it announces nothing and
// forwards what still arrives until its flows have ended or the deadline passed.
struct NodeStatus {
  std::string state = "active";  // active, draining, drained
  uint64_t flows = 0;            // live flow-table entries over every worker
  double drain_seconds = 0;      // since the drain started (draining, drained)
  double deadline_seconds = 0;   // the drain's deadline, from its start
  std::string drained_because;   // "flows ended", "deadline passed"
  std::vector<IpAddress> announced;
  std::vector<std::pair<IpAddress, std::string>> withheld;  // VIP, why
  BirdStatus bird;
  FlowSyncStatus flow_sync;
};

// Everything /api/v1/stats and /metrics show.
struct Stats {
  uint64_t snapshot_version = 0;
  double last_publication_us = 0;
  uint64_t tsc_hz = 0;  // workers' busy_cycles per second
  uint64_t flow_capacity_per_worker = 0;
  std::vector<WorkerState> workers;
  std::vector<PortStatus> ports;
  ExceptionPathStatus exception_path;
  std::vector<ServiceStatus> services;
  AgentsStatus agents;
  NodeStatus node;
};

}  // namespace fairway
