// Run-time changes: the control API's adds, removes and back-end changes, reloads, health-check
// transitions, and the retirement of removed services and back-ends once their flows are gone.
// Every change ends in one publication; only new flows follow it.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "control/control_core.h"

namespace fairway {
namespace {

bool same_endpoint(const ServiceConfig& a, const ServiceConfig& b) {
  return a.vip == b.vip && a.port == b.port && a.protocol == b.protocol && a.mode == b.mode;
}

const ServiceConfig* find(const std::vector<ServiceConfig>& services, const std::string& name) {
  for (const ServiceConfig& s : services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool has_backend(const ServiceConfig& service, const BackendConfig& backend) {
  return std::any_of(service.backends.begin(), service.backends.end(), [&](const BackendConfig& b) {
    return b.address == backend.address && b.port == backend.port;
  });
}

}  // namespace

ApiResult ControlCore::apply(const ChangeResult& change, int success_status) {
  if (!change) {
    spdlog::warn("change refused ({}): {}", change.error().status, change.error().message);
    return {change.error().status, {{"error", change.error().message}}};
  }
  spdlog::info("{}", change->summary);
  adopt(change->config);
  save_state();
  return {success_status,
          {{"snapshot_version", data_plane_.running()->version}, {"change", change->summary}}};
}

// Makes `next` the running configuration. What it no longer has is retired, not dropped: a
// removed back-end or service keeps its established flows until they end.
void ControlCore::adopt(Config next) {
  retire_removed(next);
  config_ = std::move(next);
  adopt_syn_cookie_secret();
  collector_.configure(config_.load_feedback);
  assign_stats_slots();
  update_health_targets();
  publish("configuration changed");
}

// A configured secret gives every node the same cookie key; without one the key made at start-up
// stays (a reload must not invalidate the cookies in flight).
void ControlCore::adopt_syn_cookie_secret() {
  const std::string& secret = config_.syn_cookie_secret;
  if (secret.empty()) return;
  runtime_.syn_cookie_key =
      syn_cookie_key_from_secret(reinterpret_cast<const uint8_t*>(secret.data()), secret.size());
}

void ControlCore::retire_removed(const Config& next) {
  for (const ServiceConfig& old : config_.services) {
    const ServiceConfig* kept = find(next.services, old.name);
    if (kept == nullptr || !same_endpoint(*kept, old)) {
      ServiceConfig retired = old;
      for (const BackendConfig& b : runtime_.retired_backends[old.name]) {
        if (!has_backend(retired, b)) retired.backends.push_back(b);
      }
      runtime_.retired_backends.erase(old.name);
      std::erase_if(runtime_.retired_services,
                    [&](const ServiceConfig& s) { return s.name == old.name; });
      runtime_.retired_services.push_back(std::move(retired));
      continue;
    }
    for (const BackendConfig& b : old.backends) {
      auto& retired = runtime_.retired_backends[old.name];
      if (!has_backend(*kept, b) && std::none_of(retired.begin(), retired.end(), [&](auto& r) {
            return r.address == b.address && r.port == b.port;
          })) {
        retired.push_back(b);
      }
    }
  }
  // What comes back (or is replaced by a service on the same endpoint) is no longer retired.
  // A sweep's checks made before then no longer hold (see forget_retired()).
  size_t revived = 0;
  for (const ServiceConfig& s : next.services) {
    revived += std::erase_if(runtime_.retired_services, [&](const ServiceConfig& r) {
      return r.name == s.name || (r.vip == s.vip && r.port == s.port && r.protocol == s.protocol);
    });
    auto retired = runtime_.retired_backends.find(s.name);
    if (retired == runtime_.retired_backends.end()) continue;
    revived +=
        std::erase_if(retired->second, [&](const BackendConfig& b) { return has_backend(s, b); });
    if (retired->second.empty()) runtime_.retired_backends.erase(retired);
  }
  if (revived != 0) ++revival_epoch_;
}

// Each (service, back-end) keeps one counter slot for the daemon's life, so its counters stay
// meaningful across removal and return. Slots are not reused; past kBackendStatsSlots a back-end
// simply has no per-back-end counters (said once in the log).
void ControlCore::assign_stats_slots() {
  for (const ServiceConfig& s : config_.services) {
    // The service's own counters take a slot from the same space.
    if (!runtime_.service_stats_slots.contains(s.name)) {
      if (std::optional<uint32_t> slot = take_stats_slot()) {
        runtime_.service_stats_slots[s.name] = *slot;
      }
    }
    for (const BackendConfig& b : s.backends) {
      const BackendId id = BackendId::of(s.name, b);
      if (runtime_.stats_slots.contains(id)) continue;
      if (std::optional<uint32_t> slot = take_stats_slot()) runtime_.stats_slots[id] = *slot;
    }
  }
}

std::optional<uint32_t> ControlCore::take_stats_slot() {
  if (next_stats_slot_ < kBackendStatsSlots) return next_stats_slot_++;
  if (next_stats_slot_++ == kBackendStatsSlots) {
    spdlog::warn("more than {} services and back-ends seen: later ones have no counters",
                 kBackendStatsSlots);
  }
  return std::nullopt;
}

void ControlCore::update_health_targets() {
  std::vector<HealthTarget> targets = health_targets(config_);
  std::set<BackendId> checked;
  for (const HealthTarget& t : targets) checked.insert(t.backend);
  // A back-end no longer checked is no longer down.
  std::erase_if(runtime_.down, [&](const BackendId& id) { return checked.count(id) == 0; });
  health_.set_targets(std::move(targets));
}

void ControlCore::run_health_checks(Clock::time_point now) {
  std::vector<HealthTransition> transitions = health_.step(now);
  bool changed = false;
  for (const HealthTransition& t : transitions) {
    const BackendId& id = t.backend;
    bool down = t.to == HealthState::down;
    if (down) {
      spdlog::warn("health: service {} back-end {} is down: {}", id.service, id.endpoint(),
                   t.reason);
    } else {
      spdlog::info("health: service {} back-end {} is up", id.service, id.endpoint());
    }
    changed |= down ? runtime_.down.insert(id).second : runtime_.down.erase(id) != 0;
  }
  if (changed) publish("health changed");
}

std::vector<RetiredCheck> ControlCore::retired_checks() const {
  std::vector<RetiredCheck> checks;
  for (const ServiceConfig& s : runtime_.retired_services) {
    checks.push_back({s.name, std::nullopt, FlowFilter::of_service(s), revival_epoch_});
  }
  for (const auto& [name, backends] : runtime_.retired_backends) {
    const ServiceConfig* service = find(config_.services, name);
    for (const BackendConfig& b : backends) {
      // A back-end retired from a service that is itself gone has nothing left to match.
      std::optional<FlowFilter> filter;
      if (service != nullptr) {
        filter = FlowFilter::of_service(*service);
        filter->backend = b.address;
        filter->backend_port = b.port;
      }
      checks.push_back({name, b, filter, revival_epoch_});
    }
  }
  return checks;
}

// Drops what the sweeper found without flows on any worker.
void ControlCore::forget_retired(const std::vector<RetiredCheck>& ended) {
  bool changed = false;
  for (const RetiredCheck& check : ended) {
    if (check.epoch != revival_epoch_) continue;
    if (!check.backend) {
      if (std::erase_if(runtime_.retired_services,
                        [&](const ServiceConfig& s) { return s.name == check.service; }) != 0) {
        spdlog::info("service {} removed: no flows left", check.service);
        changed = true;
      }
      continue;
    }
    auto it = runtime_.retired_backends.find(check.service);
    if (it == runtime_.retired_backends.end()) continue;
    const BackendConfig& b = *check.backend;
    size_t erased = std::erase_if(it->second, [&](const BackendConfig& r) {
      return r.address == b.address && r.port == b.port;
    });
    if (erased == 0) continue;
    changed = true;
    spdlog::info("service {} back-end {} removed: no flows left", check.service,
                 endpoint_text(b.address, b.port));
    if (it->second.empty()) runtime_.retired_backends.erase(it);
  }
  if (changed) publish("retired flows ended");
}

ApiResult ControlCore::reload(const char* trigger) {
  if (config_.source_path.empty()) {
    return {409, {{"error", "the configuration was not loaded from a file; nothing to reload"}}};
  }
  spdlog::info("reload ({}): reading {}", trigger, config_.source_path);
  ConfigResult fresh = load_config_file(config_.source_path);
  ChangeResult change = Error{""};
  if (fresh) {
    // What the API changed since the file was last read is carried over onto the new file.
    Merged merged = with_api_changes(saved_state(), *fresh);
    for (const std::string& w : merged.warnings) spdlog::warn("reload: {}", w);
    if (merged.kept != 0) {
      spdlog::info("reload: {} changes made through the API kept", merged.kept);
    }
    change = fairway::reload(config_, merged.config);
  } else {
    change = fairway::reload(config_, fresh);
  }
  if (!change) {
    spdlog::error("reload refused, the running configuration stays: {}", change.error().message);
    return apply(change);
  }
  file_part_ = ApiPart::of(*fresh);
  return apply(change);
}

}  // namespace fairway
