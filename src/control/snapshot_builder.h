#pragma once
// Builds a complete, immutable snapshot from the configuration, the ports as started and the
// kernel state mirrored over netlink. Pure: the same inputs give the same snapshot.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "control/backend_id.h"
#include "control/config.h"
#include "control/kernel_state.h"
#include "pipeline/snapshot.h"

namespace fairway {

// What the control core knows at run time besides the configuration.
struct RuntimeState {
  std::set<BackendId> down;  // marked down by health checks: no new flows
  // Counter slots of every worker, one space for both: per back-end, per service (by name).
  std::map<BackendId, uint32_t> stats_slots;
  std::map<std::string, uint32_t> service_stats_slots;
  // least-load services: the distributor's weights (absent: the admin weight)
  std::map<BackendId, uint32_t> effective_weights;
  // Removed (API or reload) while flows still used them: kept, taking no new flows, so that
  // those flows still reach their back-end (next hop, reverse NAT) until they end.
  std::vector<ServiceConfig> retired_services;
  std::map<std::string, std::vector<BackendConfig>> retired_backends;  // by service name
  // The SYN proxy's cookie key (from the config's secret, or random at start-up).
  SynCookieKey syn_cookie_key{};
};

struct RuntimePort {
  std::string name;
  MacAddress mac;
  bool exception_path = false;
  uint32_t tap_ifindex = 0;  // kernel interface of the exception path, 0 = none
};

std::unique_ptr<Snapshot> build_snapshot(const Config& config,
                                         const std::vector<RuntimePort>& ports,
                                         const KernelState& kernel, uint64_t version,
                                         const RuntimeState& runtime = {});

}  // namespace fairway
