#include "dataplane/daemon.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
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

constexpr auto kControlTick = std::chrono::milliseconds(50);
constexpr auto kMirrorPeriod = std::chrono::milliseconds(200);
constexpr auto kResolvePeriod = std::chrono::milliseconds(1000);
constexpr auto kRetiredSweepPeriod = std::chrono::milliseconds(1000);

}  // namespace

bool Daemon::start(std::string& error) {
  pool_ =
      create_packet_pool("fairway_mbufs", config_.mbufs, static_cast<int>(rte_socket_id()), error);
  if (pool_ == nullptr) return false;
  if (!ports_.start(config_, pool_, error)) return false;
  if (!exception_path_.create(ports_.ports(), config_.workers, config_.exception_path, error)) {
    return false;
  }
  if (!publisher_.init(config_.workers, error)) return false;
  runtime_.syn_cookie_key = random_syn_cookie_key();
  adopt_syn_cookie_secret();
  assign_stats_slots();
  update_health_targets();
  collector_.configure(config_.load_feedback);
  if (netlink_.ok() && !netlink_.dump(kernel_)) {
    spdlog::warn("kernel mirror: {}", netlink_.last_error());
  }
  publish("start-up");
  return launch_workers(error);
}

bool Daemon::launch_workers(std::string& error) {
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (uint32_t w = 0; w < config_.workers; ++w, lcore = rte_get_next_lcore(lcore, 1, 0)) {
    if (lcore >= RTE_MAX_LCORE) {
      error = "not enough worker lcores for " + std::to_string(config_.workers) +
              " workers (check eal.lcores)";
      return false;
    }
    auto ctx = std::make_unique<WorkerContext>();
    ctx->index = w;
    ctx->lcore = lcore;
    ctx->ports = worker_ports(ports_.ports(), exception_path_, w);
    ctx->publisher = &publisher_;
    ctx->stop = &stop_workers_;
    ctx->flows = std::make_unique<FlowTable>(config_.flow_capacity);
    if (!prepare_worker(*ctx, error)) return false;
    workers_.push_back(std::move(ctx));
  }
  for (auto& ctx : workers_) {
    if (rte_eal_remote_launch(worker_main, ctx.get(), ctx->lcore) != 0) {
      error = "cannot launch worker on lcore " + std::to_string(ctx->lcore);
      stop_workers();
      return false;
    }
  }
  workers_running_ = true;
  exception_path_.start();
  return true;
}

// Builds a snapshot from the running configuration, the runtime state and the kernel's routes
// and neighbors, and makes it the one every worker runs.
void Daemon::publish(const char* why) {
  auto build_start = Clock::now();
  auto snapshot =
      build_snapshot(config_, ports_.runtime_ports(), kernel_, publisher_.next_version(), runtime_);
  auto build_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - build_start);
  uint64_t version = snapshot->version;
  size_t services = snapshot->services.size(), routes = snapshot->routes.size(),
         neighbors = snapshot->neighbors.size();
  last_publication_ns_ = publisher_.publish(std::move(snapshot));
  spdlog::info(
      "snapshot {} published ({}): {} services, {} routes, {} neighbors; built in {} us, running "
      "on every worker {} us after the switch",
      version, why, services, routes, neighbors, build_us.count(), last_publication_ns_ / 1000);
}

void Daemon::refresh_kernel_state() {
  KernelState fresh;
  if (!netlink_.ok()) return;
  if (!netlink_.dump(fresh)) {
    spdlog::warn("kernel mirror: {}", netlink_.last_error());
    return;
  }
  if (fresh == kernel_) return;
  kernel_ = std::move(fresh);
  publish("kernel routes or neighbors changed");
}

// Back-ends and gateways must be resolved before the first packet needs them, and stay resolved
// although the kernel itself never sends to them (an unused entry would go stale and be
// collected): ask the kernel (NTF_USE) to resolve or re-confirm each one; its ARP/NDP goes out
// through the exception path and the answer comes back the same way. Returns how many are
// still missing from the snapshot.
size_t Daemon::refresh_neighbors(bool only_missing) {
  const Snapshot* snap = publisher_.current();
  std::set<IpAddress> wanted;
  for (const Service& service : snap->services) {
    for (const Backend& backend : service.backends) wanted.insert(backend.address);
  }
  for (const Route& route : snap->routes) {
    if (route.has_gateway) wanted.insert(route.gateway);
  }
  size_t missing = 0;
  for (const IpAddress& address : wanted) {
    const Route* route = snap->find_route(address);
    if (route == nullptr || route->port >= ports_.ports().size()) continue;
    IpAddress target = route->has_gateway ? route->gateway : address;
    bool known = snap->find_neighbor(target) != nullptr;
    missing += known ? 0 : 1;
    const PortRuntime& port = ports_.ports()[route->port];
    if (!port.exception_path || (only_missing && known)) continue;
    if (!netlink_.resolve_neighbor(port.tap_ifindex, target)) {
      spdlog::debug("resolve {}: {}", target.to_string(), netlink_.last_error());
    }
  }
  if (missing == 0 && neighbors_missing_ != 0) {
    spdlog::info("neighbors: all {} back-ends and gateways resolved", wanted.size());
  } else if (missing != 0 && neighbors_missing_ == 0) {
    spdlog::warn("neighbors: {} of {} back-ends and gateways unresolved", missing, wanted.size());
  }
  neighbors_missing_ = missing;
  return missing;
}

uint64_t Daemon::total_rx() const {
  uint64_t rx = 0;
  for (const auto& w : workers_) rx += w->counters.rx_packets;
  return rx;
}

void Daemon::sample_worker_load() {
  worker_load_.resize(workers_.size());
  uint64_t now = rte_get_tsc_cycles();
  for (size_t i = 0; i < workers_.size(); ++i) {
    LoadSample& sample = worker_load_[i];
    uint64_t busy = workers_[i]->counters.busy_cycles;
    if (sample.tsc != 0 && now > sample.tsc) {
      sample.load = std::min(1.0, static_cast<double>(busy - sample.busy_cycles) /
                                      static_cast<double>(now - sample.tsc));
    }
    sample.busy_cycles = busy;
    sample.tsc = now;
  }
}

std::vector<WorkerContext*> Daemon::worker_list() const {
  std::vector<WorkerContext*> out;
  for (const auto& w : workers_) out.push_back(w.get());
  return out;
}

void Daemon::control_loop() {
  auto last_mirror = Clock::now();
  auto last_resolve = Clock::time_point{};
  auto last_sweep = Clock::now();
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
      reload("SIGHUP");
    }
    run_health_checks();
    run_distributor();
    if (now - last_sweep >= kRetiredSweepPeriod) {
      sweep_retired();
      sample_worker_load();
      last_sweep = now;
    }
    // While something is unresolved, ask again every tick; then re-confirm all periodically.
    if (neighbors_missing_ != 0) refresh_neighbors(true);
    if (now - last_resolve >= kResolvePeriod) {
      refresh_neighbors(false);
      last_resolve = now;
    }
    log_flow_table_pressure();
    if (g_dump_stats != 0) {
      g_dump_stats = 0;
      std::cout << stats().dump() << std::endl;
    }
    uint64_t rx = total_rx();
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

// One line when a worker's flow table comes under pressure and one when it leaves it (the table
// holds the state for 10 s after the last full bucket, so the lines cannot flap faster).
void Daemon::log_flow_table_pressure() {
  pressure_logged_.resize(workers_.size(), false);
  for (size_t i = 0; i < workers_.size(); ++i) {
    const WorkerContext& w = *workers_[i];
    const bool now = w.under_pressure.load(std::memory_order_relaxed);
    if (now == pressure_logged_[i]) continue;
    pressure_logged_[i] = now;
    if (now) {
      spdlog::warn(
          "worker {}: flow table under pressure ({} flows, {} half-open, capacity {}): half-open "
          "flows now live {} ms and are evicted first",
          w.index, w.flow_count.load(), w.half_open.load(), config_.flow_capacity,
          std::min(config_.timeouts.tcp_syn_ms, config_.timeouts.tcp_syn_under_pressure_ms));
    } else {
      spdlog::info("worker {}: flow table no longer under pressure ({} flows, {} half-open)",
                   w.index, w.flow_count.load(), w.half_open.load());
    }
  }
}

void Daemon::stop_workers() {
  stop_workers_.store(true);
  rte_eal_mp_wait_lcore();
  workers_running_ = false;
  exception_path_.stop();
}

int Daemon::run() {
  std::string error;
  if (!start(error)) {
    spdlog::error("{}", error);
    if (workers_running_) stop_workers();
    ports_.stop();
    return 1;
  }
  spdlog::info("fairwayd running: {} worker(s), {} port(s), snapshot {}", workers_.size(),
               ports_.ports().size(), publisher_.current()->version);
  start_api();
  control_loop();
  api_.stop();
  stop_workers();
  nlohmann::json final_stats = stats();
  std::cout << final_stats.dump(2) << std::endl;
  if (!options_.stats_file.empty()) {
    std::ofstream(options_.stats_file) << final_stats.dump(2) << "\n";
  }
  for (auto& w : workers_) release_worker(*w);
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
