#pragma once
// The running daemon: the wiring around the control core. It owns EAL's resources (the mbuf
// pool, the ports and their TAPs, the worker lcores), the kernel mirror over netlink, the API
// server and the control loop on the main lcore; every decision is the ControlCore's.
//   daemon.cc      life cycle, the control loop, the kernel mirror, neighbors
//   daemon_api.cc  the API's resources wired to the control core, stats and port status
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "api/api_server.h"
#include "control/bird_announcer.h"
#include "control/config.h"
#include "control/control_core.h"
#include "control/flow_sync.h"
#include "control/netlink.h"
#include "control/retirement_sweeper.h"
#include "dataplane/daemon.h"
#include "dataplane/exception_path.h"
#include "dataplane/ports.h"
#include "dataplane/worker_fleet.h"

namespace fairway {

using Clock = std::chrono::steady_clock;

class Daemon {
 public:
  Daemon(const Config& config, const DaemonOptions& options)
      : config_(config), options_(options), core_(config, fleet_) {}
  int run();

 private:
  // daemon.cc
  bool start(std::string& error);
  void control_loop();
  void refresh_kernel_state();
  size_t refresh_neighbors(bool only_missing);
  void stop_workers();

  // daemon_api.cc
  void start_api();
  Stats stats() const;
  DaemonStatus status() const;
  std::vector<PortLinkStatus> port_status() const;
  ApiResult flows(const FlowRequest& request);
  NodeStatus node_status() const;

  // As started: the sections a reload cannot change (ports, workers, pools, control API).
  const Config config_;
  DaemonOptions options_;
  rte_mempool* pool_ = nullptr;
  Ports ports_;
  ExceptionPath exception_path_;
  WorkerFleet fleet_{ports_, exception_path_};
  Netlink netlink_;
  size_t neighbors_missing_ = SIZE_MAX;  // unknown until the first refresh
  // Held by the control loop while it runs a tick, by API requests while they read or change,
  // and by the sweeper while it reads or drops what is retired: the control core is not
  // thread-safe, and a snapshot an API thread looks at cannot be freed under it.
  mutable std::mutex control_mutex_;
  ControlCore core_;
  RetirementSweeper sweeper_{core_, fleet_, control_mutex_};
  ApiServer api_;
  BirdAnnouncer announcer_;              // announce: the VIPs to BIRD
  std::unique_ptr<FlowSync> flow_sync_;  // flow_sync: flows shared with the other nodes
};

}  // namespace fairway
