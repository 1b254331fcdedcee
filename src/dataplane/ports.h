#pragma once
// The data ports and their exception-path TAPs: probe, configure one RX and one TX queue per
// worker on each, start. Control core only, at start-up and shutdown.
#include <cstdint>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/snapshot_builder.h"

struct rte_mempool;

namespace fairway {

struct PortRuntime {
  std::string name;
  // DPDK port ids of the data port: one device with a queue per worker, or one per worker.
  std::vector<uint16_t> data_port_ids;
  uint16_t tap_port_id = 0;  // DPDK port id of the TAP, when exception_path
  bool exception_path = false;
  std::string tap_name;
  uint32_t tap_ifindex = 0;
  MacAddress mac;
  // What wakes a sleeping worker (workers_poll: adaptive), by worker; -1: nothing, it naps.
  std::vector<int> data_wake_fds;
  std::vector<int> tap_wake_fds;

  int data_wake_fd_of(uint32_t w) const { return w < data_wake_fds.size() ? data_wake_fds[w] : -1; }
  int tap_wake_fd_of(uint32_t w) const { return w < tap_wake_fds.size() ? tap_wake_fds[w] : -1; }

  // The (port id, queue) that worker `w` owns on the data port.
  uint16_t data_port_of(uint32_t w) const {
    return data_port_ids.size() == 1 ? data_port_ids[0] : data_port_ids[w];
  }
  uint16_t data_queue_of(uint32_t w) const {
    return data_port_ids.size() == 1 ? static_cast<uint16_t>(w) : 0;
  }
};

class Ports {
 public:
  // Probes and starts every port of `config`; returns false with `error` set on failure.
  bool start(const Config& config, rte_mempool* pool, std::string& error);
  void stop();
  const std::vector<PortRuntime>& ports() const { return ports_; }
  std::vector<RuntimePort> runtime_ports() const;

 private:
  bool start_data_devices(const PortConfig& config, uint16_t workers, bool wake, rte_mempool* pool,
                          PortRuntime& port, std::string& error);

  std::vector<PortRuntime> ports_;
  std::vector<uint16_t> started_;
};

}  // namespace fairway
