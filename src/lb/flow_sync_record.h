#pragma once
// Flow state shared between the nodes of a cluster (flow_sync, docs/SCALE-OUT.md): the record a
// worker journals when a flow becomes worth sharing, and the single-producer single-consumer
// ring that carries records between a worker and the control core's sync thread, both ways
// (the worker's journal of flows it made; its inbox of flows peers made).
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "lb/flow_key.h"
#include "lb/flow_state.h"

namespace fairway {

struct FlowSyncRecord {
  FlowKey key;
  IpAddress backend;
  uint16_t backend_port = 0;
  bool established = false;  // TCP: the handshake completed; other protocols: false
  friend bool operator==(const FlowSyncRecord&, const FlowSyncRecord&) = default;
};

// Fixed capacity (a power of two), no allocation after construction. push() on the producer's
// thread only, pop() on the consumer's only. A full ring refuses (the caller counts the loss).
class FlowSyncRing {
 public:
  explicit FlowSyncRing(size_t capacity_power_of_two)
      : mask_(capacity_power_of_two - 1), slots_(new FlowSyncRecord[capacity_power_of_two]) {}

  bool push(const FlowSyncRecord& record) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) return false;
    slots_[head & mask_] = record;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  size_t pop(std::span<FlowSyncRecord> out) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t available = head_.load(std::memory_order_acquire) - tail;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(available, out.size()));
    for (size_t i = 0; i < n; ++i) out[i] = slots_[(tail + i) & mask_];
    tail_.store(tail + n, std::memory_order_release);
    return n;
  }
  size_t capacity() const { return mask_ + 1; }
  // Consumer side: nothing to pop.
  bool empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_relaxed);
  }

 private:
  const uint64_t mask_;
  std::unique_ptr<FlowSyncRecord[]> slots_;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
};

}  // namespace fairway
