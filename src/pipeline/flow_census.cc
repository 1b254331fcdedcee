#include "pipeline/flow_census.h"

#include <algorithm>

#include "packet/parse.h"

namespace fairway {

void FlowCensus::step(const FlowTable& flows, const Snapshot& snap, uint64_t now_ms) {
  if (last_ms_ == 0 || now_ms < last_ms_) last_ms_ = now_ms;  // first call, or a clock reset
  // As FlowTable::expire_due: what a long gap leaves owed is paid by later calls.
  credit_ = std::min<uint64_t>(credit_ + (now_ms - last_ms_) * flows.bucket_count(),
                               flows.bucket_count() * kPeriodMs);
  last_ms_ = now_ms;
  const uint64_t due = std::min<uint64_t>(credit_ / kPeriodMs, kMaxBuckets);
  if (due == 0) return;
  credit_ -= due * kPeriodMs;
  count(flows, snap, now_ms, static_cast<size_t>(due));
}

void FlowCensus::count(const FlowTable& flows, const Snapshot& snap, uint64_t now_ms,
                       size_t buckets) {
  cursor_ = flows.scan(cursor_, buckets, now_ms, [&](const FlowKey& key, const FlowValue& value) {
    const Service* service = snap.find_service(key.dst, key.dst_port, key.protocol);
    if (service == nullptr) return;
    const NextHop* hop =
        snap.backend_next_hops.find(ServiceBackend{value.backend, value.backend_port, service->id});
    if (hop == nullptr || hop->stats_slot >= kBackendStatsSlots) return;
    const bool active = key.protocol != kProtoTcp || value.tcp_state == TcpFlowState::established;
    ++(active ? counting_[hop->stats_slot].active : counting_[hop->stats_slot].inactive);
  });
  if (cursor_ < flows.bucket_count()) return;
  published_ = counting_;
  counting_.fill(FlowCounts{});
  cursor_ = 0;
  ++passes_;
}

}  // namespace fairway
