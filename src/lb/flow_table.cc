#include "lb/flow_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <utility>

#include "packet/parse.h"

namespace fairway {
namespace {

// Head-room over the requested capacity: with go-left two choices and sixteen slots per bucket
// the first refusal comes at ~85% load, so at 80% (1.25x) `capacity` random flows all fit.
constexpr size_t kLoadNumerator = 5;
constexpr size_t kLoadDenominator = 4;

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

// A million-flow table spans ~100 MB: on 4 KiB pages nearly every lookup also misses the TLB.
// Aligned to 2 MiB and marked for transparent huge pages, it needs a few dozen TLB entries.
template <typename T>
T* FlowTable::allocate_huge(size_t count) {
  const size_t bytes = (count * sizeof(T) + kHugePage - 1) / kHugePage * kHugePage;
  void* memory = std::aligned_alloc(kHugePage, bytes);
  if (memory == nullptr) throw std::bad_alloc();
  madvise(memory, bytes, MADV_HUGEPAGE);  // advice only: without THP the table still works
  auto* items = static_cast<T*>(memory);
  for (size_t i = 0; i < count; ++i) new (&items[i]) T();
  return items;
}

void FlowTable::Free::operator()(void* memory) const {
  std::free(memory);
}

FlowTable::FlowTable(size_t capacity) {
  const size_t wanted = (capacity * kLoadNumerator / kLoadDenominator + kSlots - 1) / kSlots;
  // Two buckets at least, one per half.
  bucket_count_ = static_cast<uint32_t>(std::max<size_t>(wanted, 2));
  left_count_ = bucket_count_ / 2;
  headers_.reset(allocate_huge<BucketHeader>(bucket_count_));
  entries_.reset(allocate_huge<Entry>(size_t{bucket_count_} * kSlots));
  masks_ = std::make_unique<StateMasks[]>(bucket_count_);
  proxy_words_ = std::make_unique_for_overwrite<uint64_t[]>(size_t{bucket_count_} * kSlots);
}

FlowTable::~FlowTable() = default;

FlowValue* FlowTable::find_live(uint32_t bucket, const FlowKey& key, uint16_t tag,
                                uint64_t now_ms) const {
  Entry* entries = bucket_entries(bucket);
  for (uint32_t mask = matching_tags(headers_[bucket].tags, tag); mask != 0; mask &= mask - 1) {
    const size_t i = static_cast<size_t>(__builtin_ctz(mask));
    // An expired copy of the key may linger next to the live one until swept, so keep looking.
    if (entries[i].key == key && flow_alive(entries[i].value.expires_at_ms, now_ms)) {
      return &entries[i].value;
    }
  }
  return nullptr;
}

FlowValue* FlowTable::lookup(const FlowKey& key, const Place& p, uint64_t now_ms) {
  if (FlowValue* left = find_live(p.left, key, p.tag, now_ms)) return left;
  return find_live(p.right, key, p.tag, now_ms);
}

FlowTable::Slot FlowTable::pick_slot(const Place& p, uint64_t now_ms) {
  auto occupied = [this](uint32_t b) {
    const uint16_t* tags = headers_[b].tags;
    return static_cast<size_t>(std::count_if(tags, tags + kSlots, [](uint16_t t) { return t; }));
  };
  // The common case reads only the tags: the sweep keeps expired entries few, so occupancy stands
  // in for the live count.
  const uint32_t emptier = occupied(p.right) < occupied(p.left) ? p.right : p.left;
  for (size_t i = 0; i < kSlots; ++i) {
    if (headers_[emptier].tags[i] == 0) return {true, emptier, i, false};
  }
  return pick_expired_slot(p, now_ms);
}

bool FlowTable::reusable(uint32_t bucket, size_t i, uint64_t now_ms) {
  BucketHeader& header = headers_[bucket];
  if (header.tags[i] == 0) return true;
  if (hint_alive(headers_[bucket].expiry_hints[i], now_ms)) return false;
  const uint32_t expires = bucket_entries(bucket)[i].value.expires_at_ms;
  if (!flow_alive(expires, now_ms)) return true;
  headers_[bucket].expiry_hints[i] =
      hint_of(expires);  // the flow was extended since: refresh the hint
  return false;
}

// Both candidates are fully occupied: expired entries count as free, and failing those, a flow
// that is closing (its client sent FIN or RST) gives way to a new one; an established flow never
// does. The bucket with fewer live entries by its hints goes first, keeping the two-choice balance
// when the sweep lags behind a mass expiry.
FlowTable::Slot FlowTable::pick_expired_slot(const Place& p, uint64_t now_ms) {
  auto live_by_hint = [this, now_ms](uint32_t b) {
    size_t live = 0;
    for (size_t i = 0; i < kSlots; ++i) live += hint_alive(headers_[b].expiry_hints[i], now_ms);
    return live;
  };
  uint32_t order[2] = {p.left, p.right};
  if (live_by_hint(p.right) < live_by_hint(p.left)) std::swap(order[0], order[1]);
  for (uint32_t b : order) {
    for (size_t i = 0; i < kSlots; ++i) {
      if (reusable(b, i, now_ms)) return {true, b, i, true};
    }
  }
  // Overload: every slot holds a live flow. Half-open flows give way first (a real client's ACK
  // that finds its entry gone still reaches the same back-end by the Maglev choice), then closing
  // ones; oldest first in each.
  been_full_ = true;
  last_full_ms_ = now_ms;
  const uint16_t half_open[2] = {masks_[order[0]].half_open, masks_[order[1]].half_open};
  if (Slot slot = oldest_of(order, half_open); slot.found) return slot;
  const uint16_t closing[2] = {masks_[order[0]].closing, masks_[order[1]].closing};
  return oldest_of(order, closing);
}

FlowTable::Slot FlowTable::oldest_of(const uint32_t (&buckets)[2],
                                     const uint16_t (&masks)[2]) const {
  Slot oldest;
  int32_t oldest_hint = 0;
  for (size_t k = 0; k < 2; ++k) {
    const BucketHeader& header = headers_[buckets[k]];
    for (uint32_t mask = masks[k]; mask != 0; mask &= mask - 1) {
      const size_t i = static_cast<size_t>(__builtin_ctz(mask));
      // Serial-number order of the hints, relative to the first candidate: exact while the
      // candidates' expiries lie within 9 hours of each other (half-open ones: seconds).
      const int32_t hint = static_cast<int16_t>(header.expiry_hints[i]);
      if (!oldest.found || static_cast<int16_t>(hint - oldest_hint) < 0) {
        oldest = {true, buckets[k], i, true};
        oldest_hint = hint;
      }
    }
  }
  return oldest;
}

// A flow that comes back with the same 5-tuple (a reconnect, a retransmitted SYN after expiry)
// usually finds its expired entry still there: lookup() just read that line, so reusing it costs
// nothing and leaves no stale copy behind. The caller guarantees the key has no live entry.
FlowTable::Slot FlowTable::expired_copy(const FlowKey& key, const Place& p) {
  // The two buckets by a call each rather than a loop over {left, right}, which GCC keeps as an
  // array on the stack.
  auto in_bucket = [&](uint32_t b) -> Slot {
    for (uint32_t mask = matching_tags(headers_[b].tags, p.tag); mask != 0; mask &= mask - 1) {
      const size_t i = static_cast<size_t>(__builtin_ctz(mask));
      if (bucket_entries(b)[i].key == key) return {true, b, i, true};
    }
    return {};
  };
  if (Slot left = in_bucket(p.left); left.found) return left;
  return in_bucket(p.right);
}

FlowValue* FlowTable::insert(const FlowKey& key, const Place& p, const FlowValue& value,
                             uint64_t now_ms, FlowEviction* evicted) {
  Slot slot = expired_copy(key, p);
  if (!slot.found) slot = pick_slot(p, now_ms);
  if (!slot.found) return nullptr;
  if (evicted != nullptr) {
    *evicted = FlowEviction::none;
    if (slot.was_expired) {
      const StateMasks& m = masks_[slot.bucket];
      const uint16_t bit = static_cast<uint16_t>(1u << slot.index);
      const bool live =
          flow_alive(bucket_entries(slot.bucket)[slot.index].value.expires_at_ms, now_ms);
      if (live && (m.half_open & bit)) *evicted = FlowEviction::half_open;
      if (live && (m.closing & bit)) *evicted = FlowEviction::closing;
    }
  }
  clear_state(slot.bucket, slot.index);
  BucketHeader& header = headers_[slot.bucket];
  header.tags[slot.index] = p.tag;
  headers_[slot.bucket].expiry_hints[slot.index] = hint_of(value.expires_at_ms);
  Entry& entry = bucket_entries(slot.bucket)[slot.index];
  entry = Entry{key, value};
  if (value.tcp_state == TcpFlowState::syn_seen || value.tcp_state == TcpFlowState::closing) {
    StateMasks& m = masks_[slot.bucket];
    const uint16_t bit = static_cast<uint16_t>(1u << slot.index);
    if (value.tcp_state == TcpFlowState::syn_seen) {
      m.half_open |= bit;
      ++half_open_;
    } else {
      m.closing |= bit;
    }
  }
  if (!slot.was_expired) ++size_;
  return &entry.value;
}

void FlowTable::erase(const FlowKey& key, uint64_t hash) {
  const Place p = place(hash);
  // Clears every copy, live or expired, so no stale entry of the key outlives the erase.
  for (uint32_t b : {p.left, p.right}) {
    BucketHeader& header = headers_[b];
    for (size_t i = 0; i < kSlots; ++i) {
      if (header.tags[i] == p.tag && bucket_entries(b)[i].key == key) {
        header.tags[i] = 0;
        clear_state(b, i);
        --size_;
      }
    }
  }
}

void FlowTable::state_changed(FlowValue& flow, TcpFlowState before, uint64_t now_ms,
                              const FlowTimeouts& timeouts) {
  const size_t slot = static_cast<size_t>(reinterpret_cast<const char*>(&flow) -
                                          reinterpret_cast<const char*>(entries_.get())) /
                      sizeof(Entry);
  const uint32_t bucket = static_cast<uint32_t>(slot / kSlots);
  const size_t index = slot % kSlots;
  const uint16_t bit = static_cast<uint16_t>(1u << index);
  StateMasks& m = masks_[bucket];
  // Only TCP flows get here. One still in `none` has seen neither a SYN nor a plain ACK (an odd
  // opening segment: SYN+ACK, no flags): as unproven as a half-open one, and as evictable, so that
  // a flood of such segments cannot fill the table with entries nothing may take over.
  const bool half_open =
      flow.tcp_state == TcpFlowState::syn_seen || flow.tcp_state == TcpFlowState::none;
  if (half_open && under_pressure(now_ms)) {
    const uint64_t timeout = std::min(timeouts.tcp_syn_ms, timeouts.tcp_syn_under_pressure_ms);
    flow.expires_at_ms = static_cast<uint32_t>(now_ms + timeout);
  }
  const bool was_half_open = m.half_open & bit;
  half_open_ = half_open_ + half_open - was_half_open;
  m.half_open = half_open ? m.half_open | bit : m.half_open & static_cast<uint16_t>(~bit);
  m.closing = flow.tcp_state == TcpFlowState::closing ? m.closing | bit
                                                      : m.closing & static_cast<uint16_t>(~bit);
  // The exact expiry (the insert may have written a provisional one): eviction orders half-open
  // and closing flows by it. Still a lower bound, as packets only extend it.
  if (before != flow.tcp_state || half_open)
    headers_[bucket].expiry_hints[index] = hint_of(flow.expires_at_ms);
  if (journal_ != nullptr && flow.tcp_state == TcpFlowState::established &&
      before != TcpFlowState::established && !(flow.flags & kFlowProxied)) {
    journal(entries_[slot].key, flow);
  }
}

void FlowTable::journal(const FlowKey& key, const FlowValue& flow) {
  const FlowSyncRecord record{key, flow.backend, flow.backend_port,
                              flow.tcp_state == TcpFlowState::established};
  if (!journal_->push(record)) ++journal_full_;
}

bool FlowTable::adopt(const FlowSyncRecord& record, uint64_t now_ms, const FlowTimeouts& timeouts) {
  const uint64_t hash = flow_hash(record.key);
  const uint8_t flags = record.established ? kTcpAck : 0;
  // Not journaled again: it came from a peer.
  FlowSyncRing* journal = std::exchange(journal_, nullptr);
  bool adopted = false;
  if (FlowValue* known = lookup(record.key, hash, now_ms)) {
    // A peer still carries a flow this table has with the same back-end (its periodic refresh):
    // the timeout starts again. Anything else this node saw itself wins.
    const bool same =
        known->backend == record.backend && known->backend_port == record.backend_port;
    const bool live =
        record.key.protocol != kProtoTcp || known->tcp_state == TcpFlowState::established;
    if (same && live) observe(*known, record.key.protocol, flags, now_ms, timeouts);
  } else if (FlowValue* flow = insert(record.key, hash,
                                      FlowValue{record.backend, record.backend_port,
                                                TcpFlowState::none, kFlowAdopted, 0},
                                      now_ms)) {
    // An ACK moves a new TCP entry to established; every protocol gets its timeout.
    observe(*flow, record.key.protocol, flags, now_ms, timeouts);
    adopted = true;
  }
  journal_ = journal;
  return adopted;
}

size_t FlowTable::expire_due(uint64_t now_ms) {
  // What a long gap between calls (a worker that slept) leaves owed is paid by later calls, up
  // to one whole pass.
  const uint64_t elapsed = now_ms > last_sweep_ms_ ? now_ms - last_sweep_ms_ : 0;
  sweep_credit_ =
      std::min<uint64_t>(sweep_credit_ + elapsed * bucket_count_, bucket_count_ * kSweepPeriodMs);
  last_sweep_ms_ = std::max(last_sweep_ms_, now_ms);
  const uint64_t due = std::min<uint64_t>(sweep_credit_ / kSweepPeriodMs, kMaxSweepBuckets);
  if (due == 0) return 0;
  sweep_credit_ -= due * kSweepPeriodMs;
  return expire_some(now_ms, due);
}

bool FlowTable::sweep_behind() const {
  return sweep_credit_ >= kSweepPeriodMs;
}

size_t FlowTable::expire_some(uint64_t now_ms, size_t max_buckets) {
  size_t freed = 0;
  const size_t visits = std::min<size_t>(max_buckets, bucket_count_);
  for (size_t n = 0; n < visits; ++n) {
    BucketHeader& header = headers_[sweep_cursor_];
    for (size_t i = 0; i < kSlots; ++i) {
      if (header.tags[i] != 0 && reusable(sweep_cursor_, i, now_ms)) {
        header.tags[i] = 0;
        clear_state(sweep_cursor_, i);
        ++freed;
      }
    }
    sweep_cursor_ = sweep_cursor_ + 1 == bucket_count_ ? 0 : sweep_cursor_ + 1;
  }
  size_ -= freed;
  return freed;
}

size_t FlowTable::size() const {
  return size_;
}

size_t FlowTable::capacity() const {
  return size_t{bucket_count_} * kSlots;
}

size_t FlowTable::memory_bytes() const {
  return size_t{bucket_count_} *
         (sizeof(BucketHeader) + sizeof(StateMasks) + kSlots * (sizeof(Entry) + sizeof(uint64_t)));
}

void FlowTable::for_each(uint64_t now_ms,
                         const std::function<void(const FlowKey&, const FlowValue&)>& visit) const {
  scan(0, bucket_count_, now_ms, visit);
}

}  // namespace fairway
