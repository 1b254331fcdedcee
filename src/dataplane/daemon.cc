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
#include <mutex>
#include <iostream>
#include <set>
#include <thread>

#include "api/api_server.h"
#include "control/netlink.h"
#include "control/snapshot_builder.h"
#include "dataplane/eal.h"
#include "dataplane/packet_pool.h"
#include "dataplane/ports.h"
#include "dataplane/publisher.h"
#include "dataplane/stats.h"
#include "dataplane/worker.h"

namespace fairway {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_dump_stats = 0;

void on_stop_signal(int signal) { g_stop_signal = signal; }
void on_stats_signal(int) { g_dump_stats = 1; }

constexpr auto kControlTick = std::chrono::milliseconds(50);
constexpr auto kMirrorPeriod = std::chrono::milliseconds(200);
constexpr auto kResolvePeriod = std::chrono::milliseconds(1000);

using Clock = std::chrono::steady_clock;

// The state of a running daemon, owned by the control core.
class Daemon {
 public:
  Daemon(const Config& config, const DaemonOptions& options) : config_(config), options_(options) {}
  int run();

 private:
  bool start(std::string& error);
  bool launch_workers(std::string& error);
  void control_loop();
  void refresh_kernel_state(bool force);
  size_t refresh_neighbors(bool only_missing);
  void stop_workers();
  nlohmann::json stats() const;
  nlohmann::json status() const;
  nlohmann::json services() const;
  ApiResult change_backend(const std::string& service, const std::string& backend,
                           const BackendChange& change);
  void start_api();
  uint64_t total_rx() const;

  const Config& config_;
  DaemonOptions options_;
  rte_mempool* pool_ = nullptr;
  Ports ports_;
  SnapshotPublisher publisher_;
  Netlink netlink_;
  KernelState kernel_;
  std::vector<std::unique_ptr<WorkerContext>> workers_;
  std::atomic<bool> stop_workers_{false};
  bool workers_running_ = false;
  size_t neighbors_missing_ = SIZE_MAX;  // unknown until the first refresh
  uint64_t last_publication_ns_ = 0;      // switch to acknowledgement by every worker
  // Held by the control loop while it republishes and by API requests while they read: the
  // snapshot an API thread looks at cannot be freed under it.
  mutable std::mutex control_mutex_;
  BackendOverrides overrides_;  // API changes on top of the configuration
  ApiServer api_;
  Clock::time_point started_at_ = Clock::now();
};

bool Daemon::start(std::string& error) {
  pool_ = create_packet_pool("fairway_mbufs", config_.mbufs,
                             static_cast<int>(rte_socket_id()), error);
  if (pool_ == nullptr) return false;
  if (!ports_.start(config_, pool_, error)) return false;
  if (!publisher_.init(config_.workers, error)) return false;
  refresh_kernel_state(true);
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
    ctx->ports = worker_ports(ports_.ports(), w);
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
  return true;
}

void Daemon::refresh_kernel_state(bool force) {
  KernelState fresh;
  if (netlink_.ok() && !netlink_.dump(fresh)) {
    spdlog::warn("kernel mirror: {}", netlink_.last_error());
    return;
  }
  if (!force && fresh == kernel_) return;
  kernel_ = std::move(fresh);
  auto build_start = Clock::now();
  auto snapshot =
      build_snapshot(config_, ports_.runtime_ports(), kernel_, publisher_.next_version(), overrides_);
  auto build_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - build_start);
  uint64_t version = snapshot->version;
  size_t services = snapshot->services.size(), routes = snapshot->routes.size(),
         neighbors = snapshot->neighbors.size();
  last_publication_ns_ = publisher_.publish(std::move(snapshot));
  spdlog::info(
      "snapshot {} published: {} services, {} routes, {} neighbors; built in {} us, running on "
      "every worker {} us after the switch",
      version, services, routes, neighbors, build_us.count(), last_publication_ns_ / 1000);
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

nlohmann::json Daemon::stats() const {
  std::vector<WorkerContext*> workers;
  for (const auto& w : workers_) workers.push_back(w.get());
  nlohmann::json out = collect_stats(workers, ports_.ports(), publisher_.current()->version);
  out["last_publication_us"] = last_publication_ns_ / 1000.0;
  out["tsc_hz"] = rte_get_tsc_hz();
  return out;
}

nlohmann::json Daemon::status() const {
  nlohmann::json workers = nlohmann::json::array();
  for (const auto& w : workers_) {
    workers.push_back({{"worker", w->index},
                       {"lcore", w->lcore},
                       {"snapshot_version", w->running_version.load()},
                       {"flows", w->flow_count.load()}});
  }
  nlohmann::json ports = nlohmann::json::array();
  for (const PortRuntime& p : ports_.ports()) {
    ports.push_back({{"name", p.name},
                     {"mac", p.mac.to_string()},
                     {"devices", p.data_port_ids.size()},
                     {"tap", p.exception_path ? nlohmann::json(p.tap_name) : nlohmann::json()}});
  }
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_at_);
  return {{"program", "fairwayd"},
          {"version", FAIRWAY_VERSION},
          {"uptime_seconds", uptime.count()},
          {"snapshot_version", publisher_.current()->version},
          {"last_publication_us", last_publication_ns_ / 1000.0},
          {"services", publisher_.current()->services.size()},
          {"workers", workers},
          {"ports", ports}};
}

nlohmann::json Daemon::services() const {
  nlohmann::json out = nlohmann::json::array();
  for (const Service& s : publisher_.current()->services) {
    nlohmann::json backends = nlohmann::json::array();
    for (const Backend& b : s.backends) {
      backends.push_back({{"backend", backend_key(b.address, b.port)},
                          {"weight", b.weight},
                          {"drained", b.drained}});
    }
    out.push_back({{"name", s.name},
                   {"vip", s.vip.to_string()},
                   {"port", s.port},
                   {"protocol", s.protocol == 6 ? "tcp" : "udp"},
                   {"mode", s.mode == ForwardingMode::nat ? "nat" : "dsr"},
                   {"backends", backends}});
  }
  return out;
}

// Applies a weight or drain change to one back-end and republishes: only new flows follow it.
ApiResult Daemon::change_backend(const std::string& service, const std::string& backend,
                                 const BackendChange& change) {
  const ServiceConfig* sc = nullptr;
  for (const ServiceConfig& s : config_.services) {
    if (s.name == service) sc = &s;
  }
  if (sc == nullptr) return {404, {{"error", "no service named '" + service + "'"}}};
  bool known = false;
  for (const BackendConfig& b : sc->backends) known = known || backend_key(b.address, b.port) == backend;
  if (!known) {
    return {404, {{"error", "service '" + service + "' has no back-end '" + backend +
                                "' (expected ADDRESS:PORT, e.g. 198.18.1.11:80)"}}};
  }
  BackendOverride& o = overrides_[{service, backend}];
  if (change.weight) o.weight = *change.weight;
  if (change.drain) o.drained = *change.drain;
  refresh_kernel_state(true);
  spdlog::info("API: {} {}: weight {}, {}", service, backend,
               o.weight ? std::to_string(*o.weight) : "as configured",
               o.drained ? "drained" : "in service");
  return {200, {{"snapshot_version", publisher_.current()->version}}};
}

// The API is a convenience next to the data plane: if its address is taken the daemon still
// forwards, and says so.
void Daemon::start_api() {
  if (config_.control_listen.empty()) return;
  ApiHandlers handlers{
      [this] {
        std::lock_guard lock(control_mutex_);
        return status();
      },
      [this] {
        std::lock_guard lock(control_mutex_);
        return stats();
      },
      [this] {
        std::lock_guard lock(control_mutex_);
        return services();
      },
      [this](const std::string& service, const std::string& backend, const BackendChange& change) {
        std::lock_guard lock(control_mutex_);
        return change_backend(service, backend, change);
      }};
  std::string error;
  if (api_.start(config_.control_listen, config_.control_token, handlers, error)) {
    spdlog::info("control API on http://{}/", config_.control_listen);
  } else {
    spdlog::error("{}", error);
  }
}

void Daemon::control_loop() {
  auto last_mirror = Clock::now();
  auto last_resolve = Clock::time_point{};
  auto last_activity = Clock::now();
  uint64_t last_rx = 0;
  while (g_stop_signal == 0) {
    std::this_thread::sleep_for(kControlTick);
    auto now = Clock::now();
    std::lock_guard lock(control_mutex_);
    if (now - last_mirror >= kMirrorPeriod) {
      refresh_kernel_state(false);
      last_mirror = now;
    }
    // While something is unresolved, ask again every tick; then re-confirm all periodically.
    if (neighbors_missing_ != 0) refresh_neighbors(true);
    if (now - last_resolve >= kResolvePeriod) {
      refresh_neighbors(false);
      last_resolve = now;
    }
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

void Daemon::stop_workers() {
  stop_workers_.store(true);
  rte_eal_mp_wait_lcore();
  workers_running_ = false;
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

}  // namespace

int run_daemon(const Config& config, const DaemonOptions& options) {
  // Before EAL: start-up can take seconds (a large pool), and a signal then must not kill us.
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stats_signal);
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
