#pragma once
// The control processor's life cycle: EAL, ports, first snapshot, workers launched on their
// lcores, then the control loop on the main lcore until a signal (or idle exit) stops it.
#include <cstdint>
#include <string>

#include "control/config.h"

namespace fairway {

struct DaemonOptions {
  uint64_t idle_exit_ms = 0;  // >0: exit once no packet arrived for this long (golden tests)
  std::string stats_file;     // where the final counters go as JSON (besides stdout)
};

int run_daemon(const Config& config, const DaemonOptions& options);

}  // namespace fairway
