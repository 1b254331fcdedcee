#pragma once
// How many flows each back-end has, active and inactive, as IPVS's ActiveConn/InActConn: a worker
// counts its own table in the background, a few buckets per poll iteration at a pace that covers
// the whole table every kPeriodMs, and publishes each complete pass. A flow is attributed to its
// back-end's counter slot through the snapshot (its service by VIP:port, then the back-end's next
// hop, which carries the slot); one whose back-end has left the snapshot counts nowhere.
//
//   active:   TCP established, or a live UDP flow
//   inactive: TCP half-open (only a SYN seen) or closing (FIN or RST seen)
//
// The worker writes; the control core reads published() with plain 64-bit loads, like the other
// worker counters. The figures are up to one pass (kPeriodMs) old.
#include <array>
#include <cstddef>
#include <cstdint>

#include "lb/flow_table.h"
#include "pipeline/counters.h"
#include "pipeline/snapshot.h"

namespace fairway {

struct FlowCounts {
  uint64_t active = 0;
  uint64_t inactive = 0;
  FlowCounts& operator+=(const FlowCounts& other) {
    active += other.active;
    inactive += other.inactive;
    return *this;
  }
};

class FlowCensus {
 public:
  static constexpr uint64_t kPeriodMs = 2'000;
  static constexpr size_t kMaxBuckets = 64;  // per step, as the expiry sweep

  // Worker, once per poll iteration: counts the buckets due since the last call (at most
  // kMaxBuckets); publishes the counts when a pass completes.
  void step(const FlowTable& flows, const Snapshot& snap, uint64_t now_ms);
  // Whether steps are owed that a call could do now (calls were far apart).
  bool behind() const { return credit_ >= kPeriodMs; }
  // Worker (tests): counts the next `buckets` buckets at once.
  void count(const FlowTable& flows, const Snapshot& snap, uint64_t now_ms, size_t buckets);

  // Control core: the flows of `slot` at the last complete pass (zero before the first).
  FlowCounts published(uint32_t slot) const {
    return slot < kBackendStatsSlots ? published_[slot] : FlowCounts{};
  }
  uint64_t passes() const { return passes_; }

 private:
  std::array<FlowCounts, kBackendStatsSlots> counting_{};
  std::array<FlowCounts, kBackendStatsSlots> published_{};
  size_t cursor_ = 0;
  uint64_t last_ms_ = 0;
  uint64_t credit_ = 0;  // bucket-milliseconds owed, as FlowTable::expire_due keeps them
  uint64_t passes_ = 0;
};

}  // namespace fairway
