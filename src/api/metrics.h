#pragma once
// The daemon's typed status (control/status.h) as Prometheus text exposition (format 0.0.4),
// written by prometheus-cpp's serializer: counters end in _total, one family per counter with the
// worker as a label, drops with the reason as a label, every series present from the start.
#include <string>

#include "control/status.h"

namespace fairway {

std::string render_metrics(const Stats& stats);

}  // namespace fairway
