#include "dataplane/publisher.h"

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <chrono>

namespace fairway {

SnapshotPublisher::~SnapshotPublisher() {
  delete active_.exchange(nullptr);
  rte_free(qsbr_);
}

bool SnapshotPublisher::init(uint32_t workers, std::string& error) {
  size_t size = rte_rcu_qsbr_get_memsize(workers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("fairway_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (qsbr_ == nullptr || rte_rcu_qsbr_init(qsbr_, workers) != 0) {
    error = "cannot allocate the RCU state for " + std::to_string(workers) + " workers";
    return false;
  }
  return true;
}

uint64_t SnapshotPublisher::publish(std::unique_ptr<Snapshot> next) {
  auto start = std::chrono::steady_clock::now();
  const Snapshot* old = active_.exchange(next.release(), std::memory_order_acq_rel);
  // Blocks the control core only: returns once every online worker has reported a quiescent
  // state after the store above, so none can still hold `old`.
  rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
  auto waited = std::chrono::steady_clock::now() - start;
  delete old;
  return static_cast<uint64_t>(std::chrono::nanoseconds(waited).count());
}

void SnapshotPublisher::register_worker(uint32_t worker_index) {
  rte_rcu_qsbr_thread_register(qsbr_, worker_index);
  rte_rcu_qsbr_thread_online(qsbr_, worker_index);
}

void SnapshotPublisher::unregister_worker(uint32_t worker_index) {
  rte_rcu_qsbr_thread_offline(qsbr_, worker_index);
  rte_rcu_qsbr_thread_unregister(qsbr_, worker_index);
}

void SnapshotPublisher::offline(uint32_t worker_index) {
  rte_rcu_qsbr_thread_offline(qsbr_, worker_index);
}

void SnapshotPublisher::online(uint32_t worker_index) {
  rte_rcu_qsbr_thread_online(qsbr_, worker_index);
}

void SnapshotPublisher::quiescent(uint32_t worker_index) {
  rte_rcu_qsbr_quiescent(qsbr_, worker_index);
}

}  // namespace fairway
