#pragma once
// The exception path's way into the kernel (frames the pipeline decided `to_kernel`): workers
// enqueue each frame on a bounded ring of its class (pipeline/kernel_priority.h), one ring per
// (worker, port, class), single producer, single consumer; a drainer thread on the control core
// writes them to the port's TAP, every class in priority order and the last one within a rate.
// A worker makes no system call for the kernel's traffic, and what does not fit its ring is
// dropped and counted by class (kernel_queue_full_*). The kernel's own frames (TAP RX) are still
// read by the workers.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "control/config.h"
#include "dataplane/ports.h"
#include "pipeline/kernel_priority.h"

struct rte_ring;

namespace fairway {

// A worker's rings on one port, by class; null where the port has no exception path.
using KernelQueues = std::array<rte_ring*, kKernelPriorities>;

class ExceptionPath {
 public:
  ExceptionPath() = default;
  ~ExceptionPath() { stop(); }
  ExceptionPath(const ExceptionPath&) = delete;
  ExceptionPath& operator=(const ExceptionPath&) = delete;

  // Creates the rings of `workers` workers on every port that has an exception path.
  bool create(const std::vector<PortRuntime>& ports, uint32_t workers,
              const ExceptionPathConfig& settings, std::string& error);
  // The queues of `worker` on port index `port` (all null without exception path).
  const KernelQueues& queues(uint32_t worker, size_t port) const {
    return queues_[worker * ports_.size() + port];
  }
  // Starts and stops the drainer thread (started on the calling thread's CPUs: the control core).
  void start();
  void stop();

  // Frames written to the TAPs, by class; frames a TAP refused (freed). Read from any thread.
  uint64_t sent(KernelPriority p) const {
    return sent_[static_cast<size_t>(p)].load(std::memory_order_relaxed);
  }
  uint64_t tap_refused() const { return tap_refused_.load(std::memory_order_relaxed); }
  // Frames waiting now, by class, over all workers and ports.
  std::array<uint32_t, kKernelPriorities> waiting() const;
  const ExceptionPathConfig& settings() const { return settings_; }

 private:
  void run();
  // Dequeues up to `budget` frames of class p from every worker's ring of port `port` and writes
  // them to its TAP; returns how many were dequeued.
  uint32_t drain(size_t port, KernelPriority p, uint32_t budget);
  void free_rings();

  ExceptionPathConfig settings_;
  std::vector<PortRuntime> ports_;
  uint32_t workers_ = 0;
  std::vector<KernelQueues> queues_;  // by worker * ports + port
  std::thread drainer_;
  std::atomic<bool> stop_{false};
  std::array<std::atomic<uint64_t>, kKernelPriorities> sent_{};
  std::atomic<uint64_t> tap_refused_{0};
};

}  // namespace fairway
