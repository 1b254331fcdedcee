#pragma once
// Builds a complete, immutable snapshot from the configuration, the ports as started and the
// kernel state mirrored over netlink. Pure: the same inputs give the same snapshot.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/kernel_state.h"
#include "pipeline/snapshot.h"

namespace fairway {

// Changes made at run time (control API) on top of the configuration, by service name and
// back-end key (backend_key()).
struct BackendOverride {
  std::optional<uint32_t> weight;
  bool drained = false;
};
using BackendOverrides = std::map<std::pair<std::string, std::string>, BackendOverride>;

struct RuntimePort {
  std::string name;
  MacAddress mac;
  bool exception_path = false;
  uint32_t tap_ifindex = 0;  // kernel interface of the exception path, 0 = none
};

std::unique_ptr<Snapshot> build_snapshot(const Config& config,
                                         const std::vector<RuntimePort>& ports,
                                         const KernelState& kernel, uint64_t version,
                                         const BackendOverrides& overrides = {});

// "198.18.1.10:80" / "[2001:2::10]:80": a back-end's stable Maglev key.
std::string backend_key(const IpAddress& address, uint16_t port);

}  // namespace fairway
