#include "dataplane/flow_query_runner.h"

#include <algorithm>
#include <mutex>
#include <thread>

namespace fairway {

FlowListing query_flows(const std::vector<WorkerContext*>& workers, const FlowFilter& filter,
                        size_t limit, std::chrono::milliseconds timeout,
                        const std::function<void()>& posted) {
  // One control-side user of the mailboxes at a time (API threads may call concurrently).
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  enum class Progress : uint8_t { waiting_for_mailbox, posted, answered };
  std::vector<Progress> progress(workers.size(), Progress::waiting_for_mailbox);
  std::vector<std::vector<FlowRecord>> answers(workers.size());
  FlowListing listing;
  while (true) {
    size_t answered = 0;
    bool any_posted = false;
    for (size_t i = 0; i < workers.size(); ++i) {
      WorkerContext& w = *workers[i];
      if (progress[i] == Progress::waiting_for_mailbox) {
        // A worker never holds more live flows than its table's slots: no need to reserve more.
        const size_t room = std::min(limit, w.flows->capacity());
        if (w.flow_query.post(filter, room, w.index)) {
          progress[i] = Progress::posted;
          any_posted = true;
        }
      }
      if (progress[i] == Progress::posted && w.flow_query.state() == FlowQuery::State::done) {
        listing.matched += w.flow_query.matched();
        answers[i] = w.flow_query.take_records();
        progress[i] = Progress::answered;
      }
      answered += progress[i] == Progress::answered;
    }
    if (any_posted && posted) posted();
    if (answered == workers.size() || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (size_t i = 0; i < workers.size(); ++i) {
    if (progress[i] == Progress::answered) {
      for (FlowRecord& r : answers[i]) {
        if (listing.flows.size() == limit) break;
        listing.flows.push_back(r);
      }
      continue;
    }
    listing.complete = false;
    // Not answered in time: leave the mailbox to the worker, which acknowledges the cancel (or
    // completes) on its next iteration; the next query waits for that.
    if (progress[i] == Progress::posted) workers[i]->flow_query.cancel();
  }
  return listing;
}

}  // namespace fairway
