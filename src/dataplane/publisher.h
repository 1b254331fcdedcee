#pragma once
// The patent's double buffer (docs/DESIGN.md) made safe: the control core builds a new snapshot
// beside the live one, makes it active with one atomic pointer store, waits until every worker
// has passed a quiescent point (rte_rcu_qsbr), then frees the old one. Workers never stop or
// lock.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "pipeline/snapshot.h"

struct rte_rcu_qsbr;

namespace fairway {

class SnapshotPublisher {
 public:
  ~SnapshotPublisher();
  bool init(uint32_t workers, std::string& error);

  // Control core: publish `next` (its version must be set) and reclaim the previous one.
  // Returns the nanoseconds from the pointer store until every worker had passed a quiescent
  // point (and so runs `next`).
  uint64_t publish(std::unique_ptr<Snapshot> next);
  const Snapshot* current() const { return active_.load(std::memory_order_acquire); }
  uint64_t next_version() { return ++last_version_; }

  // Workers: register once, then read current() each poll iteration and report quiescence.
  void register_worker(uint32_t worker_index);
  void unregister_worker(uint32_t worker_index);
  void quiescent(uint32_t worker_index);
  // A worker about to sleep goes offline (publication stops waiting for it) and comes back
  // online before it reads current() again.
  void offline(uint32_t worker_index);
  void online(uint32_t worker_index);

 private:
  std::atomic<const Snapshot*> active_{nullptr};
  rte_rcu_qsbr* qsbr_ = nullptr;
  uint64_t last_version_ = 0;
};

}  // namespace fairway
