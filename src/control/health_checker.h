#pragma once
// Active health checks of back-ends, run on the daemon's control thread: one small event loop over
// non-blocking POSIX sockets that never blocks. The daemon calls step() every tick (~50 ms); a
// check is a TCP connect, or a TCP connect plus an HTTP/1.0 GET whose status (and optionally body)
// is compared with what the service's `health_check` expects.
//
// States and counting (HAProxy-like, with an explicit start state):
// - a target starts `unknown`; the daemon treats unknown as UP for scheduling, so a freshly started
//   daemon serves at once and a check never has to succeed before the first flow;
// - each success adds to successes_in_row and clears failures_in_row, each failure the opposite;
// - `rise` successes in a row make a target that is not up `up`; `fall` failures in a row make a
//   target that is not down `down`. From unknown, whichever run completes first decides: a server
//   that alternates success and failure stays unknown until one run is long enough.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "control/backend_id.h"
#include "control/config.h"
#include "packet/addresses.h"

namespace fairway {

// One back-end of one service to check.
struct HealthTarget {
  BackendId backend;  // the service and the back-end; the check connects to its address
  uint16_t port = 0;  // the check's port, resolved (check.port or the back-end's port)
  HealthCheckConfig check;
  friend bool operator==(const HealthTarget&, const HealthTarget&) = default;
};

// The targets a configuration asks for: every back-end (drained ones too, so their state is known
// when they come back) of every service with a `health_check`, in configuration order.
std::vector<HealthTarget> health_targets(const Config& config);

enum class HealthState : uint8_t { unknown, up, down };
const char* health_state_name(HealthState state);  // "unknown", "up", "down"

// Whether new flows may go to a back-end in this state: unknown counts as up (see above).
inline bool health_allows_traffic(HealthState state) {
  return state != HealthState::down;
}

struct HealthStatus {
  HealthState state = HealthState::unknown;
  uint32_t successes_in_row = 0;
  uint32_t failures_in_row = 0;
  // Why the last failed check failed, e.g. "connect: Connection refused", "timeout after 1000 ms
  // (connecting)", "HTTP status 503, expected 200", "body does not contain 'ok'". Kept after a
  // later success, for the API; empty until a check fails.
  std::string last_error;
  uint64_t checks = 0;                                // finished checks
  uint64_t failures = 0;                              // of which failed
  std::chrono::steady_clock::time_point last_change;  // last state change, or when first targeted
};

// A state change that happened during one step(): for the log and a republication.
struct HealthTransition {
  BackendId backend;
  HealthState from = HealthState::unknown;
  HealthState to = HealthState::unknown;
  std::string reason;  // "2 checks in a row succeeded" or the failure, e.g. "timeout after 1000 ms"
};

// A target with its status, for the API and the metrics.
struct HealthReport {
  HealthTarget target;
  HealthStatus status;
};

class HealthChecker {
 public:
  HealthChecker();
  ~HealthChecker();  // closes the sockets of checks in flight
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Replaces the set of targets. A target that stays identical (back-end, check port and check
  // configuration) keeps its state, counts and schedule, and a check in flight; any other
  // target starts unknown and is checked at the next step(). A check of a removed or changed target
  // is abandoned (its socket closed). Of two targets with the same service and back-end, the first
  // is kept.
  void set_targets(std::vector<HealthTarget> targets);

  // Starts the checks that are due, advances the ones in flight (poll() with a zero timeout),
  // finishes them or times them out. Returns the state changes of this call, in target order.
  // `now` is the caller's steady clock; it should not go backwards. Never blocks, never throws
  // (short of memory exhaustion).
  std::vector<HealthTransition> step(std::chrono::steady_clock::time_point now);

  // nullptr when `backend` is not a target. Valid until the next set_targets().
  const HealthStatus* status(const BackendId& backend) const;

  // Every target, in the order given to set_targets(), with its status.
  std::vector<HealthReport> report() const;

  size_t target_count() const { return targets_.size(); }
  size_t checks_in_flight() const;  // = open sockets

 private:
  struct Probe;
  struct Target;

  // Opens the socket and starts connecting; returns the error when the check failed at once.
  std::optional<std::string> start_check(Target& target, std::chrono::steady_clock::time_point now);
  void advance(Target& target, short revents, std::chrono::steady_clock::time_point now,
               std::vector<HealthTransition>& transitions);
  void finish_check(Target& target, bool success, std::string error,
                    std::chrono::steady_clock::time_point now,
                    std::vector<HealthTransition>& transitions);
  std::chrono::steady_clock::duration jittered_interval(const HealthCheckConfig& check);

  std::vector<std::unique_ptr<Target>> targets_;  // in set_targets() order
  std::map<BackendId, Target*> by_key_;
  std::minstd_rand random_;  // spreads check start times
};

}  // namespace fairway
