#include "control/retirement_sweeper.h"

namespace fairway {

void RetirementSweeper::start(std::chrono::milliseconds period) {
  stopping_ = false;
  thread_ = std::thread([this, period] {
    std::unique_lock lock(stop_mutex_);
    while (!stop_signal_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      sweep();
      lock.lock();
    }
  });
}

void RetirementSweeper::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t RetirementSweeper::sweep() {
  std::vector<RetiredCheck> checks;
  {
    std::lock_guard lock(control_lock_);
    checks = core_.retired_checks();
  }
  std::vector<RetiredCheck> ended;
  for (RetiredCheck& check : checks) {
    if (check.filter) {
      FlowListing listing = data_plane_.query_flows(*check.filter, 0, kQueryTimeout);
      if (!listing.complete || listing.matched != 0) continue;
    }
    ended.push_back(std::move(check));
  }
  if (!ended.empty()) {
    std::lock_guard lock(control_lock_);
    core_.forget_retired(ended);
  }
  return ended.size();
}

}  // namespace fairway
