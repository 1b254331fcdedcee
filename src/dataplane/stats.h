#pragma once
// The daemon's counters as JSON: summed over workers, drops by reason, per worker, per port.
#include <nlohmann/json.hpp>
#include <vector>

#include "dataplane/worker.h"

namespace fairway {

nlohmann::json collect_stats(const std::vector<WorkerContext*>& workers,
                             const std::vector<PortRuntime>& ports, uint64_t version);

}  // namespace fairway
