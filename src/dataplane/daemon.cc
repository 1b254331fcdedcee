#include "dataplane/daemon.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "control/neighbor_targets.h"
#include "control/status_json.h"
#include "dataplane/daemon_internal.h"
#include "dataplane/eal.h"
#include "dataplane/packet_pool.h"

namespace fairway {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_dump_stats = 0;
volatile std::sig_atomic_t g_reload = 0;

void on_stop_signal(int signal) {
  g_stop_signal = signal;
}
void on_stats_signal(int) {
  g_dump_stats = 1;
}
void on_reload_signal(int) {
  g_reload = 1;
}

constexpr unsigned kIndirectMbufsPerWorker = 512;
constexpr auto kControlTick = std::chrono::milliseconds(50);
constexpr auto kMirrorPeriod = std::chrono::milliseconds(200);
constexpr auto kResolvePeriod = std::chrono::milliseconds(1000);
constexpr auto kRetiredSweepPeriod = std::chrono::milliseconds(1000);
constexpr auto kLoadSamplePeriod = std::chrono::milliseconds(1000);

}  // namespace

bool Daemon::start(std::string& error) {
  // Each worker may hold fragments.max_fragments mbufs in its reassembly table: on top of what
  // the ports and queues need, so that a fragment flood cannot starve them.
  const FragmentConfig& fragments = config_.fragments;
  const unsigned reserved = fragments.enabled() ? config_.workers * fragments.max_fragments : 0;
  const int socket = static_cast<int>(rte_socket_id());
  pool_ = create_packet_pool("fairway_mbufs", config_.mbufs + reserved, socket, error);
  if (pool_ == nullptr) return false;
  FragmentSetup fragment_setup{fragments, pool_, nullptr};
  if (fragments.enabled()) {
    // Splitting attaches each fragment's payload with a data-less mbuf, freed as soon as the
    // fragment is made one segment: a few per worker are in use at once.
    fragment_setup.indirect = rte_pktmbuf_pool_create(
        "fairway_indirect", kIndirectMbufsPerWorker * config_.workers - 1, 32, 0, 0, socket);
    if (fragment_setup.indirect == nullptr) {
      error = std::string("cannot create the fragment split pool: ") + rte_strerror(rte_errno);
      return false;
    }
  }
  if (!ports_.start(config_, pool_, error)) return false;
  if (!exception_path_.create(ports_.ports(), config_.workers, config_.exception_path, error)) {
    return false;
  }
  if (!fleet_.init(config_.workers, error)) return false;
  KernelState kernel;
  if (netlink_.ok() && !netlink_.dump(kernel)) {
    spdlog::warn("kernel mirror: {}", netlink_.last_error());
  }
  core_.start(std::move(kernel), Clock::now());
  if (!fleet_.launch(config_.workers, config_.flow_capacity, config_.polling,
                     config_.flow_sync.enabled(), fragment_setup, error)) {
    return false;
  }
  exception_path_.start();
  if (config_.flow_sync.enabled()) {
    // Half the shortest timeout of a shared flow: a peer's copy never expires while we carry it.
    const auto refresh = std::chrono::milliseconds(
        std::min(config_.timeouts.tcp_established_ms, config_.timeouts.udp_ms) / 2);
    flow_sync_ = std::make_unique<FlowSync>(config_.flow_sync, fleet_, refresh);
    if (!flow_sync_->start(error)) return false;
  }
  if (config_.announce.enabled() &&
      !announcer_.start(config_.announce, core_.announcement_plan().announced, error)) {
    error = "announce: " + error;
    return false;
  }
  return true;
}

void Daemon::refresh_kernel_state() {
  KernelState fresh;
  if (!netlink_.ok()) return;
  if (!netlink_.dump(fresh)) {
    spdlog::warn("kernel mirror: {}", netlink_.last_error());
    return;
  }
  core_.set_kernel_state(std::move(fresh));
}

// Back-ends and gateways must be resolved before the first packet needs them, and stay resolved
// although the kernel itself never sends to them (an unused entry would go stale and be
// collected): ask the kernel (NTF_USE) to resolve or re-confirm each one; its ARP/NDP goes out
// through the exception path and the answer comes back the same way. Returns how many are
// still missing from the snapshot.
size_t Daemon::refresh_neighbors(bool only_missing) {
  const std::vector<NeighborTarget> targets = neighbor_targets(*fleet_.running());
  size_t missing = 0;
  for (const NeighborTarget& target : targets) {
    missing += target.known ? 0 : 1;
    const PortRuntime& port = ports_.ports().at(target.port);
    if (!port.exception_path || (only_missing && target.known)) continue;
    if (!netlink_.resolve_neighbor(port.tap_ifindex, target.address)) {
      spdlog::debug("resolve {}: {}", target.address.to_string(), netlink_.last_error());
    }
  }
  if (missing == 0 && neighbors_missing_ != 0) {
    spdlog::info("neighbors: all {} next hops of back-ends and gateways resolved", targets.size());
  } else if (missing != 0 && neighbors_missing_ == 0) {
    spdlog::warn("neighbors: {} of {} next hops of back-ends and gateways unresolved", missing,
                 targets.size());
  }
  neighbors_missing_ = missing;
  return missing;
}

void Daemon::control_loop() {
  auto last_mirror = Clock::now();
  auto last_resolve = Clock::time_point{};
  auto last_load_sample = Clock::now();
  auto last_activity = Clock::now();
  uint64_t last_rx = 0;
  while (g_stop_signal == 0) {
    std::this_thread::sleep_for(kControlTick);
    auto now = Clock::now();
    std::lock_guard lock(control_mutex_);
    if (now - last_mirror >= kMirrorPeriod) {
      refresh_kernel_state();
      last_mirror = now;
    }
    if (g_reload != 0) {
      g_reload = 0;
      core_.reload("SIGHUP");
    }
    core_.tick(now);
    announcer_.want(core_.announcement_plan().announced);
    if (now - last_load_sample >= kLoadSamplePeriod) {
      fleet_.sample_load();
      last_load_sample = now;
    }
    // While something is unresolved, ask again every tick; then re-confirm all periodically.
    if (neighbors_missing_ != 0) refresh_neighbors(true);
    if (now - last_resolve >= kResolvePeriod) {
      refresh_neighbors(false);
      last_resolve = now;
    }
    if (g_dump_stats != 0) {
      g_dump_stats = 0;
      std::cout << to_json(stats()).dump() << std::endl;
    }
    uint64_t rx = fleet_.total_rx();
    if (rx != last_rx) {
      last_rx = rx;
      last_activity = now;
    }
    if (options_.idle_exit_ms != 0 && rx != 0 &&
        now - last_activity >= std::chrono::milliseconds(options_.idle_exit_ms)) {
      spdlog::info("no packet for {} ms: exiting", options_.idle_exit_ms);
      break;
    }
  }
}

void Daemon::stop_workers() {
  if (flow_sync_) flow_sync_->stop();
  sweeper_.stop();
  fleet_.stop();
  exception_path_.stop();
}

int Daemon::run() {
  std::string error;
  if (!start(error)) {
    spdlog::error("{}", error);
    announcer_.stop();
    if (fleet_.launched()) stop_workers();
    ports_.stop();
    return 1;
  }
  spdlog::info("fairwayd running: {} worker(s), {} port(s), snapshot {}", config_.workers,
               ports_.ports().size(), fleet_.running()->version);
  sweeper_.start(kRetiredSweepPeriod);
  start_api();
  control_loop();
  api_.stop();
  announcer_.stop();
  stop_workers();
  nlohmann::json final_stats = to_json(stats());
  std::cout << final_stats.dump(2) << std::endl;
  if (!options_.stats_file.empty()) {
    std::ofstream(options_.stats_file) << final_stats.dump(2) << "\n";
  }
  fleet_.release();
  ports_.stop();
  return 0;
}

int run_daemon(const Config& config, const DaemonOptions& options) {
  // Before EAL: start-up can take seconds (a large pool), and a signal then must not kill us.
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stats_signal);
  std::signal(SIGHUP, on_reload_signal);
  std::string error;
  if (!start_eal(config, error)) {
    spdlog::error("{}", error);
    return 1;
  }
  int rc = Daemon(config, options).run();
  rte_eal_cleanup();
  return rc;
}

}  // namespace fairway
