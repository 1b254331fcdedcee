#pragma once
// EAL start-up from the configuration: main lcore = control processor, one lcore per worker.
#include <string>
#include <vector>

#include "control/config.h"

namespace fairway {

// The EAL argument vector for `config` (exposed for tests and for --check -v).
std::vector<std::string> eal_arguments(const Config& config);

// Initialises EAL; on failure returns false and sets `error`.
bool start_eal(const Config& config, std::string& error);

}  // namespace fairway
