#pragma once
// How an idle worker sleeps (workers_poll: adaptive): in poll() on its RX queues' wake
// descriptors (util/rx_wakeup.h) and its doorbell, an eventfd the control core rings when it
// needs the worker (a new snapshot to acknowledge, a flow query to answer). A queue without a
// descriptor (a PMD without RX interrupts, e.g. net_pcap) caps the sleep at a short nap, so
// that its packets wait at most that long.
#include <poll.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fairway {

class WorkerSleep {
 public:
  // Longest sleep when every queue can wake the worker: flow expiry and the flow census run
  // at least this often.
  static constexpr std::chrono::milliseconds kHousekeeping{100};
  // Longest sleep when some queue cannot wake the worker: what its packets may wait.
  static constexpr std::chrono::milliseconds kNap{1};

  WorkerSleep() = default;
  WorkerSleep(const WorkerSleep&) = delete;
  WorkerSleep& operator=(const WorkerSleep&) = delete;
  ~WorkerSleep();

  // `queue_fds`: one per RX queue the worker polls, -1 where the queue has none.
  bool init(const std::vector<int>& queue_fds, std::string& error);

  // Any thread: wake the worker if it sleeps, or make its next sleep return at once.
  void ring();

  enum class Woken : uint8_t { queue, doorbell, timeout };
  // The worker: blocks until a queue is readable, the doorbell rang, or the longest sleep.
  Woken sleep();

  bool every_queue_wakes() const { return every_queue_wakes_; }

 private:
  std::vector<pollfd> fds_;  // the doorbell first
  bool every_queue_wakes_ = true;
  int doorbell_ = -1;
};

}  // namespace fairway
