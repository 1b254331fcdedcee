#include "pipeline/flow_query.h"

namespace fairway {

bool FlowFilter::matches(const FlowKey& key, const FlowValue& value) const {
  return (!client || key.src == *client) && (!vip || key.dst == *vip) &&
         (!vip_port || key.dst_port == *vip_port) && (!protocol || key.protocol == *protocol) &&
         (!backend || value.backend == *backend) &&
         (!backend_port || value.backend_port == *backend_port);
}

bool FlowQuery::post(const FlowFilter& filter, size_t limit, uint32_t worker) {
  // Acquire: the worker's last writes to the mailbox happen before we overwrite it.
  if (state() >= State::requested) return false;
  filter_ = filter;
  limit_ = limit;
  worker_ = worker;
  cursor_ = 0;
  matched_ = 0;
  records_ = std::vector<FlowRecord>();  // frees what an untaken result held
  records_.reserve(limit);
  state_.store(State::requested, std::memory_order_release);
  return true;
}

bool FlowQuery::cancel() {
  State expected = State::requested;
  return state_.compare_exchange_strong(expected, State::cancelling, std::memory_order_acq_rel);
}

bool FlowQuery::step(const FlowTable& flows, uint64_t now_ms) {
  cursor_ = flows.scan(cursor_, kStepBuckets, now_ms, [&](const FlowKey& key, const FlowValue& value) {
    if (!filter_.matches(key, value)) return;
    ++matched_;
    if (records_.size() < limit_) {
      // Within the capacity post() reserved: no allocation.
      const int32_t left = static_cast<int32_t>(value.expires_at_ms - static_cast<uint32_t>(now_ms));
      records_.push_back(FlowRecord{key, value, worker_, static_cast<uint32_t>(left > 0 ? left : 0)});
    }
  });
  if (cursor_ < flows.bucket_count()) return false;
  state_.store(State::done, std::memory_order_release);
  return true;
}

void FlowQuery::serve(const FlowTable& flows, uint64_t now_ms) {
  // Only this worker moves the state out of requested or cancelling, so it cannot change under
  // us except requested -> cancelling, which the next iteration acknowledges.
  if (state() == State::cancelling) {
    state_.store(State::idle, std::memory_order_release);
    return;
  }
  step(flows, now_ms);
}

}  // namespace fairway
