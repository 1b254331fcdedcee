#pragma once
// The daemon's counters as JSON: summed over workers, drops by reason, per worker, per port.
#include <nlohmann/json.hpp>
#include <vector>

#include "dataplane/worker.h"

namespace fairway {

// A port's device counters (rx/tx packets and bytes, missed, errors, no-mbuf), summed over
// `port_ids` (the devices of one port).
nlohmann::json device_json(const std::vector<uint16_t>& port_ids);

nlohmann::json collect_stats(const std::vector<WorkerContext*>& workers,
                             const std::vector<PortRuntime>& ports, uint64_t version);

}  // namespace fairway
