#pragma once
// What the devices count, read from DPDK for the typed status (control/status.h).
#include <vector>

#include "control/status.h"
#include "dataplane/ports.h"

namespace fairway {

// A port's device counters (rx/tx packets and bytes, missed, errors, no-mbuf), summed over
// `port_ids` (the devices of one port).
DeviceCounters device_counters(const std::vector<uint16_t>& port_ids);

// Every port with its devices' and its TAP's counters.
std::vector<PortStatus> port_stats(const std::vector<PortRuntime>& ports);

}  // namespace fairway
