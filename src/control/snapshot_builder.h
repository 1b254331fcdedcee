#pragma once
// Builds a complete, immutable snapshot from the configuration, the ports as started and the
// kernel state mirrored over netlink. Pure: the same inputs give the same snapshot.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/kernel_state.h"
#include "pipeline/snapshot.h"

namespace fairway {

struct RuntimePort {
  std::string name;
  MacAddress mac;
  bool exception_path = false;
  uint32_t tap_ifindex = 0;  // kernel interface of the exception path, 0 = none
};

std::unique_ptr<Snapshot> build_snapshot(const Config& config,
                                         const std::vector<RuntimePort>& ports,
                                         const KernelState& kernel, uint64_t version);

// "198.18.1.10:80" / "[2001:2::10]:80": a back-end's stable Maglev key.
std::string backend_key(const IpAddress& address, uint16_t port);

}  // namespace fairway
