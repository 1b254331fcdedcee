#include "control/control_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace fairway {

ControlCore::ControlCore(Config config, DataPlane& data_plane)
    : config_(std::move(config)), file_part_(ApiPart::of(config_)), data_plane_(data_plane) {}

void ControlCore::start(KernelState kernel, Clock::time_point now) {
  started_at_ = now;
  kernel_ = std::move(kernel);
  restore_saved_state(now);
  runtime_.syn_cookie_key = random_syn_cookie_key();
  adopt_syn_cookie_secret();
  assign_stats_slots();
  update_health_targets();
  collector_.configure(config_.load_feedback);
  publish("start-up");
  save_state();  // the file as read now; and an unwritable state file is said at once
}

void ControlCore::tick(Clock::time_point now) {
  run_health_checks(now);
  run_distributor(now);
  log_flow_table_pressure();
  update_drain(now);
}

void ControlCore::set_kernel_state(KernelState kernel) {
  if (kernel == kernel_) return;
  kernel_ = std::move(kernel);
  publish("kernel routes or neighbors changed");
}

// Builds a snapshot from the running configuration, the runtime state and the kernel's routes
// and neighbors, and makes it the one every worker runs.
void ControlCore::publish(const char* why) {
  auto build_start = Clock::now();
  auto snapshot =
      build_snapshot(config_, data_plane_.ports(), kernel_, data_plane_.next_version(), runtime_);
  auto build_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - build_start);
  uint64_t version = snapshot->version;
  size_t services = snapshot->services.size(), routes = snapshot->routes.size(),
         neighbors = snapshot->neighbors.size();
  last_publication_ns_ = data_plane_.publish(std::move(snapshot));
  spdlog::info(
      "snapshot {} published ({}): {} services, {} routes, {} neighbors; built in {} us, running "
      "on every worker {} us after the switch",
      version, why, services, routes, neighbors, build_us.count(), last_publication_ns_ / 1000);
}

// One line when a worker's flow table comes under pressure and one when it leaves it (the table
// holds the state for 10 s after the last full bucket, so the lines cannot flap faster).
void ControlCore::log_flow_table_pressure() {
  const std::vector<WorkerState> workers = data_plane_.workers();
  pressure_logged_.resize(workers.size(), false);
  for (size_t i = 0; i < workers.size(); ++i) {
    const WorkerState& w = workers[i];
    if (w.under_pressure == pressure_logged_[i]) continue;
    pressure_logged_[i] = w.under_pressure;
    if (w.under_pressure) {
      spdlog::warn(
          "worker {}: flow table under pressure ({} flows, {} half-open, capacity {}): half-open "
          "flows now live {} ms and are evicted first",
          w.index, w.flows, w.half_open, config_.flow_capacity,
          std::min(config_.timeouts.tcp_syn_ms, config_.timeouts.tcp_syn_under_pressure_ms));
    } else {
      spdlog::info("worker {}: flow table no longer under pressure ({} flows, {} half-open)",
                   w.index, w.flows, w.half_open);
    }
  }
}

}  // namespace fairway
