#pragma once
// The running daemon, owned by the control core (main lcore). Internal to fairwayd:
//   daemon.cc          life cycle, the control loop, publication, kernel mirror, neighbors
//   daemon_changes.cc  run-time changes: API adds/removes/weights, reload, health, retirement
//   daemon_api.cc      what the control API reads: status, stats, services, flows
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/api_server.h"
#include "control/config.h"
#include "control/config_changes.h"
#include "control/distributor.h"
#include "control/health_checker.h"
#include "control/kernel_state.h"
#include "control/load_collector.h"
#include "control/netlink.h"
#include "control/snapshot_builder.h"
#include "dataplane/daemon.h"
#include "dataplane/ports.h"
#include "dataplane/publisher.h"
#include "dataplane/worker.h"

namespace fairway {

using Clock = std::chrono::steady_clock;

class Daemon {
 public:
  Daemon(const Config& config, const DaemonOptions& options) : config_(config), options_(options) {}
  int run();

 private:
  // daemon.cc
  bool start(std::string& error);
  bool launch_workers(std::string& error);
  void control_loop();
  void publish(const char* why);
  void refresh_kernel_state();
  size_t refresh_neighbors(bool only_missing);
  void stop_workers();
  uint64_t total_rx() const;
  void sample_worker_load();
  std::vector<WorkerContext*> worker_list() const;

  // daemon_changes.cc
  ApiResult apply(const ChangeResult& change, int success_status = 200);
  void adopt(Config next);
  void retire_removed(const Config& next);
  void adopt_syn_cookie_secret();
  void assign_stats_slots();
  void log_flow_table_pressure();
  void update_health_targets();
  void run_health_checks();
  void sweep_retired();
  ApiResult reload(const char* trigger);

  // daemon_load.cc: agents' reports and the least-load distributor
  ApiResult agent_report(const std::string& body, const std::string& signature,
                         const std::string& source);
  nlohmann::json agents() const;
  void run_distributor();

  // daemon_api.cc
  void start_api();
  nlohmann::json stats() const;
  nlohmann::json status() const;
  nlohmann::json services() const;
  nlohmann::json deny_lists() const;
  nlohmann::json backend_json(const Service& service, const Backend& backend) const;
  ApiResult flows(const FlowRequest& request) const;
  uint64_t backend_flows_created(uint32_t stats_slot) const;
  const LoadCollector::AgentState* find_agent(const IpAddress& address) const;
  std::string scheduler_of(const std::string& service) const;

  Config config_;  // the running configuration: the file plus the API's changes since
  DaemonOptions options_;
  rte_mempool* pool_ = nullptr;
  Ports ports_;
  ExceptionPath exception_path_;
  SnapshotPublisher publisher_;
  Netlink netlink_;
  KernelState kernel_;
  RuntimeState runtime_;
  uint32_t next_stats_slot_ = 0;
  HealthChecker health_;
  LoadCollector collector_;
  struct ServiceDistributor {
    LeastLoadConfig config;  // a change of parameters starts the loop afresh
    LeastLoadDistributor distributor;
  };
  std::map<std::string, ServiceDistributor> distributors_;  // least-load services, by name
  std::map<BackendId, DistributorOutput> distribution_;     // last round, for the API
  Clock::time_point last_distribution_{};
  std::vector<std::unique_ptr<WorkerContext>> workers_;
  // Share of the last second each worker spent on bursts that carried packets (the rest was
  // empty polling): its load, for the status.
  struct LoadSample {
    uint64_t busy_cycles = 0;
    uint64_t tsc = 0;
    double load = 0;
  };
  std::vector<LoadSample> worker_load_;
  std::vector<bool> pressure_logged_;  // by worker: the last state log_flow_table_pressure() told
  std::atomic<bool> stop_workers_{false};
  bool workers_running_ = false;
  size_t neighbors_missing_ = SIZE_MAX;  // unknown until the first refresh
  uint64_t last_publication_ns_ = 0;     // switch to acknowledgement by every worker
  // Held by the control loop while it republishes and by API requests while they read or
  // change: the snapshot an API thread looks at cannot be freed under it.
  mutable std::mutex control_mutex_;
  ApiServer api_;
  Clock::time_point started_at_ = Clock::now();
};

}  // namespace fairway
