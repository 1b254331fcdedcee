#pragma once
// The daemon's stats as Prometheus text exposition (format 0.0.4): counters end in _total, one
// family per counter with the worker as a label, drops with the reason as a label.
#include <nlohmann/json.hpp>
#include <string>

namespace fairway {

// `stats` is the daemon's stats JSON (src/dataplane/stats.h: counters, workers, ports, ...).
std::string render_metrics(const nlohmann::json& stats);

}  // namespace fairway
