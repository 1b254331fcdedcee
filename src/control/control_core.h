#pragma once
// The control processor's policy, without DPDK: it owns the running configuration and what
// happens to it at run time (the API's changes, reloads, health checks, agents' load reports,
// the least-load distributors, the retirement of removed services and back-ends), builds the
// snapshots and hands them to the workers through a DataPlane.
//
//   control_core.cc           start-up, the tick, publication, the kernel's state, pressure log
//   control_core_changes.cc   changes, reloads, health transitions, retirement
//   control_core_feedback.cc  agents' reports and the least-load distributor
//   control_core_status.cc    what the API reads: status, services, deny lists, agents
//   control_core_node.cc      the node in a cluster: drain, undrain, what it announces
//   control_core_saved.cc     the API's changes kept across reloads and restarts
//
// Not thread-safe: the daemon calls it under one lock (its control loop, API threads and the
// retirement sweeper). Nothing here blocks: flow queries, which wait for the workers, are left to
// the caller, outside the lock (see retired_checks(), service_filter()).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/announcement.h"
#include "control/api_result.h"
#include "control/config.h"
#include "control/config_changes.h"
#include "control/data_plane.h"
#include "control/distributor.h"
#include "control/health_checker.h"
#include "control/kernel_state.h"
#include "control/load_collector.h"
#include "control/saved_state.h"
#include "control/snapshot_builder.h"
#include "control/status.h"

namespace fairway {

// A retired service (backend empty) or back-end whose flows the sweeper counts. Once no worker
// has a flow matching `filter` (none: nothing can match any more), forget_retired() drops it.
struct RetiredCheck {
  std::string service;
  std::optional<BackendConfig> backend;
  std::optional<FlowFilter> filter;
  uint64_t epoch = 0;  // ControlCore's revival epoch when the check was made
};

class ControlCore {
 public:
  using Clock = std::chrono::steady_clock;

  ControlCore(Config config, DataPlane& data_plane);

  // Prepares the runtime state for `config` and publishes the first snapshot. With
  // control.state_file, first takes back what the API had changed and the drain (saved_state.h).
  void start(KernelState kernel, Clock::time_point now);
  // Once per control-loop tick: health checks, the distributors, the pressure log.
  void tick(Clock::time_point now);
  // The kernel's routes and neighbors, mirrored; republishes when they changed.
  void set_kernel_state(KernelState kernel);

  // Run-time changes. A refused change changes nothing; an accepted one is published at once.
  ApiResult apply(const ChangeResult& change, int success_status = 200);
  ApiResult reload(const char* trigger);
  ApiResult agent_report(const std::string& body, const std::string& signature,
                         const std::string& source, Clock::time_point now,
                         const std::string& agent = {});

  // Retirement, in two halves so that the flow queries between them run without the lock:
  // what is retired now, and which of those the workers no longer have flows for. A check made
  // before a retired item came back and left again is ignored (it may have new flows).
  std::vector<RetiredCheck> retired_checks() const;
  void forget_retired(const std::vector<RetiredCheck>& ended);

  // The node in a cluster. Draining withdraws every VIP from the routers and keeps forwarding
  // what arrives; the drain ends when the flows have ended or `deadline` passed. Survives
  // reloads (it is not part of the configuration).
  ApiResult drain_node(std::chrono::milliseconds deadline, Clock::time_point now);
  ApiResult undrain_node();
  NodeStatus node_status(Clock::time_point now) const;
  // What the node announces now (control/announcement.h).
  AnnouncementPlan announcement_plan() const;

  // What the API reads.
  DaemonStatus status(Clock::time_point now) const;  // without the ports: the daemon's
  std::vector<ServiceStatus> service_status(Clock::time_point now) const;
  nlohmann::json deny_lists() const;
  AgentsStatus agents(Clock::time_point now) const;
  // The flows of the running service `name`, or nullopt when there is none by that name.
  std::optional<FlowFilter> service_filter(const std::string& name) const;

  const Config& config() const { return config_; }
  // The file's version of what the API changes, the running one, the drain.
  SavedState saved_state() const;
  const RuntimeState& runtime() const { return runtime_; }
  uint64_t last_publication_ns() const { return last_publication_ns_; }

 private:
  void publish(const char* why);
  void restore_saved_state(Clock::time_point now);
  void save_state();  // to control.state_file, if set
  void adopt(Config next);
  void retire_removed(const Config& next);
  void adopt_syn_cookie_secret();
  void assign_stats_slots();
  std::optional<uint32_t> take_stats_slot();  // nullopt once all kBackendStatsSlots are taken
  void update_health_targets();
  void run_health_checks(Clock::time_point now);
  void run_distributor(Clock::time_point now);
  void log_flow_table_pressure();
  void update_drain(Clock::time_point now);  // draining -> drained
  uint64_t live_flows() const;
  BackendStatus backend_status(const Service& service, const Backend& backend,
                               Clock::time_point now) const;

  Config config_;      // the running configuration: the file plus the API's changes since
  ApiPart file_part_;  // the file's own services and deny list, as last read
  DataPlane& data_plane_;
  KernelState kernel_;
  RuntimeState runtime_;
  uint32_t next_stats_slot_ = 0;
  uint64_t revival_epoch_ = 0;  // bumped whenever something retired comes back
  HealthChecker health_;
  LoadCollector collector_;
  struct ServiceDistributor {
    LeastLoadConfig config;  // a change of parameters starts the loop afresh
    LeastLoadDistributor distributor;
  };
  std::map<std::string, ServiceDistributor> distributors_;  // least-load services, by name
  std::map<BackendId, DistributorOutput> distribution_;     // last round, for the API
  Clock::time_point last_distribution_{};
  std::vector<bool> pressure_logged_;  // by worker: the last state log_flow_table_pressure() told
  uint64_t last_publication_ns_ = 0;   // switch to acknowledgement by every worker
  Clock::time_point started_at_{};
  struct Drain {
    Clock::time_point started;
    std::chrono::milliseconds deadline{0};
    std::string ended_because;  // empty while draining
  };
  std::optional<Drain> drain_;  // none: active
};

}  // namespace fairway
