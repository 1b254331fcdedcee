#pragma once
// The control API's JSON for the typed status (control/status.h): field names as docs/API.md
// lists them.
#include <nlohmann/json.hpp>

#include "control/status.h"

namespace fairway {

nlohmann::json to_json(const BackendStatus& backend);
nlohmann::json to_json(const ServiceStatus& service);
nlohmann::json to_json(const std::vector<ServiceStatus>& services);
// The event counters by name and the non-zero drops by reason.
nlohmann::json to_json(const WorkerCounters& counters);
nlohmann::json to_json(const DeviceCounters& device);
nlohmann::json to_json(const Stats& stats);
// A report as the API shows it (report/load_report.h writes the wire format).
nlohmann::json report_json(const LoadReport& report);
nlohmann::json to_json(const AgentsStatus& agents);
nlohmann::json to_json(const DaemonStatus& status);
nlohmann::json to_json(const NodeStatus& node);
// A worker as GET /api/v1/status shows it (its load, not its counters).
nlohmann::json worker_status_json(const WorkerState& worker);

}  // namespace fairway
