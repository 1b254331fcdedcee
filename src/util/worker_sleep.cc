#include "util/worker_sleep.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace fairway {

WorkerSleep::~WorkerSleep() {
  if (doorbell_ >= 0) close(doorbell_);
}

bool WorkerSleep::init(const std::vector<int>& queue_fds, std::string& error) {
  doorbell_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (doorbell_ < 0) {
    error = std::string("eventfd: ") + std::strerror(errno);
    return false;
  }
  fds_.push_back(pollfd{doorbell_, POLLIN, 0});
  for (int fd : queue_fds) {
    if (fd < 0) {
      every_queue_wakes_ = false;
      continue;
    }
    fds_.push_back(pollfd{fd, POLLIN, 0});
  }
  return true;
}

void WorkerSleep::ring() {
  const uint64_t one = 1;
  // A full counter (2^64 - 2 rings unread) still wakes the worker: the error is harmless.
  [[maybe_unused]] ssize_t n = write(doorbell_, &one, sizeof(one));
}

WorkerSleep::Woken WorkerSleep::sleep() {
  const auto longest = every_queue_wakes_ ? kHousekeeping : kNap;
  const int timeout_ms = static_cast<int>(longest.count());
  if (poll(fds_.data(), fds_.size(), timeout_ms) <= 0) return Woken::timeout;  // or EINTR
  if ((fds_[0].revents & POLLIN) == 0) return Woken::queue;
  uint64_t rings = 0;
  [[maybe_unused]] ssize_t n = read(doorbell_, &rings, sizeof(rings));
  return Woken::doorbell;
}

}  // namespace fairway
