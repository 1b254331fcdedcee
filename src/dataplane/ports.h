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
  uint16_t data_port_id = 0;  // DPDK port id of the data port
  uint16_t tap_port_id = 0;   // DPDK port id of the TAP, when exception_path
  bool exception_path = false;
  std::string tap_name;
  uint32_t tap_ifindex = 0;
  MacAddress mac;
};

class Ports {
 public:
  // Probes and starts every port of `config`; returns false with `error` set on failure.
  bool start(const Config& config, rte_mempool* pool, std::string& error);
  void stop();
  const std::vector<PortRuntime>& ports() const { return ports_; }
  std::vector<RuntimePort> runtime_ports() const;

 private:
  std::vector<PortRuntime> ports_;
  std::vector<uint16_t> started_;
};

}  // namespace fairway
