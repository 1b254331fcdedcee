#pragma once
// Retired services and back-ends stay in the snapshot while flows still use them; the sweeper
// finds when they have none left. Counting a worker's flows waits for the worker (milliseconds
// per million flows, up to a timeout for a stalled one), so the sweeper runs on its own thread
// and takes the control core's lock only to read what is retired and to drop what has ended:
// health checks, API requests and publications never wait behind a flow query.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "control/control_core.h"
#include "control/data_plane.h"

namespace fairway {

class RetirementSweeper {
 public:
  // `control_lock` is the lock every user of `core` holds.
  RetirementSweeper(ControlCore& core, DataPlane& data_plane, std::mutex& control_lock)
      : core_(core), data_plane_(data_plane), control_lock_(control_lock) {}
  ~RetirementSweeper() { stop(); }
  RetirementSweeper(const RetirementSweeper&) = delete;
  RetirementSweeper& operator=(const RetirementSweeper&) = delete;

  // Sweeps every `period` on a thread until stop().
  void start(std::chrono::milliseconds period);
  void stop();

  // One sweep: what is retired, the flows of each (the lock released), then what has ended is
  // dropped. A retired item whose workers did not all answer in time stays. Returns how many
  // items were found ended.
  size_t sweep();

  static constexpr auto kQueryTimeout = std::chrono::milliseconds(500);

 private:
  ControlCore& core_;
  DataPlane& data_plane_;
  std::mutex& control_lock_;
  std::thread thread_;
  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
};

}  // namespace fairway
