#pragma once
// Tells BIRD which VIPs to announce: writes the included file (control/announcement.h) and runs
// `birdc -s SOCKET configure`, on its own thread so that the control loop never waits for BIRD.
// A failed reconfiguration (BIRD not running yet, a refused file) is retried every kRetry until
// it succeeds; the last error is in status().
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/config.h"
#include "control/status.h"
#include "packet/addresses.h"

namespace fairway {

class BirdAnnouncer {
 public:
  static constexpr std::chrono::seconds kRetry{2};
  static constexpr std::chrono::seconds kBirdcTimeout{5};

  BirdAnnouncer() = default;
  BirdAnnouncer(const BirdAnnouncer&) = delete;
  BirdAnnouncer& operator=(const BirdAnnouncer&) = delete;
  ~BirdAnnouncer();

  // Writes the file for `initial` at once (bird.conf's include needs it before BIRD starts) and
  // starts the thread. False, with `error`, when the file cannot be written.
  bool start(const AnnounceConfig& config, const std::vector<IpAddress>& initial,
             std::string& error);
  // The VIPs to announce from now on. Cheap when nothing changed.
  void want(const std::vector<IpAddress>& announced);
  BirdStatus status() const;
  // Withdraws everything (writes an empty set, one `birdc configure`), then stops the thread.
  void stop();

 private:
  void run();
  bool apply(const std::vector<IpAddress>& set);  // the file, then birdc; false on failure

  AnnounceConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<IpAddress> wanted_;
  BirdStatus status_;
  bool stopping_ = false;
  std::thread thread_;
};

// Writes `content` to `path` atomically (a temporary file beside it, then rename).
bool write_file_atomically(const std::string& path, const std::string& content, std::string& error);

}  // namespace fairway
