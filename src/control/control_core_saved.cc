// The API's changes and the node's drain across restarts: read from control.state_file at
// start-up, written after every change (saved_state.h).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "control/control_core.h"

namespace fairway {

SavedState ControlCore::saved_state() const {
  return {file_part_, ApiPart::of(config_), drain_.has_value()};
}

void ControlCore::restore_saved_state(Clock::time_point now) {
  const std::string& path = config_.state_file;
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return;
  Result<SavedState> saved = load_state_file(path, config_);
  if (!saved) {
    // Serving what the file says beats not serving; the unreadable state is kept for a look.
    const std::string rejected = path + ".rejected";
    std::rename(path.c_str(), rejected.c_str());
    spdlog::error("state file not applied (moved to {}): {}", rejected, saved.error().message);
    return;
  }
  Merged merged = with_api_changes(*saved, config_);
  for (const std::string& w : merged.warnings) spdlog::warn("state file {}: {}", path, w);
  spdlog::info("state file {}: {} changes made through the API kept", path, merged.kept);
  config_ = std::move(merged.config);
  if (saved->drained) {
    // Drained on purpose before the restart: its VIPs stay withdrawn until undrained.
    drain_ = Drain{now, std::chrono::milliseconds(0), "drained before the restart"};
    spdlog::info("node: drained (as before the restart); fairwayctl node undrain announces it");
  }
}

void ControlCore::save_state() {
  if (config_.state_file.empty()) return;
  std::string error;
  if (!save_state_file(config_.state_file, saved_state(), error)) {
    spdlog::error("state file not written, the last change will not survive a restart: {}", error);
  }
}

}  // namespace fairway
