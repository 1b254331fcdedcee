#pragma once
// A worker's connection table: 5-tuple -> back-end. One owner (its worker), no locks.
// Fixed capacity allocated once at construction; the hot path never allocates.
// When a new flow's two candidate buckets are full: expired entries are reused first, then
// half-open ones (only a SYN seen, oldest first), then closing ones (FIN or RST seen, oldest
// first). Established entries are never evicted: when nothing else is left, insert() refuses the
// flow and the caller forwards it untracked. While buckets fill up ("pressure"), half-open entries
// live tcp_syn_under_pressure instead of tcp_syn (docs/ARCHITECTURE.md, "The flow table under
// pressure").
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lb/flow_key.h"
#include "lb/flow_state.h"
#include "lb/flow_sync_record.h"
#include "packet/addresses.h"
#include "packet/parse.h"

namespace fairway {

// What insert() had to give up for the new flow's slot.
enum class FlowEviction : uint8_t {
  none,       // a free slot, or an expired entry
  half_open,  // a live flow that had seen only a SYN (or neither a SYN nor a plain ACK)
  closing,    // a live flow whose client had sent FIN or RST
};

class FlowTable {
 public:
  // `capacity` is the number of flows it must be able to hold; rounded up internally.
  explicit FlowTable(size_t capacity);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // The two candidate buckets of a hash, one in each half of the table ("go left" on ties: the
  // asymmetry balances better than two choices over the whole table), and its tag.
  struct Place {
    uint32_t left;
    uint32_t right;
    uint16_t tag;
  };
  // Where the flows of `hash` live. lookup and insert take either the hash or its Place; a burst
  // computes the Place once per packet and passes it to prefetch, prefetch_entry, lookup and
  // insert instead of recomputing it in each (three multiplies apiece).
  Place place(uint64_t hash) const {
    Place p;
    p.left = fast_range(static_cast<uint32_t>(hash >> 32), left_count_);
    p.right = left_count_ + fast_range(static_cast<uint32_t>(hash), bucket_count_ - left_count_);
    // The buckets consume the high bits of each half; a multiply folds all bits into the tag so
    // flows sharing a bucket still tend to differ in tag.
    p.tag = static_cast<uint16_t>((hash * 0x9e3779b97f4a7c15ULL) >> 48);
    if (p.tag == 0) p.tag = 1;
    return p;
  }

  // Returns the live (not expired at now_ms) flow for key, or nullptr.
  FlowValue* lookup(const FlowKey& key, uint64_t hash, uint64_t now_ms) {
    return lookup(key, place(hash), now_ms);
  }
  FlowValue* lookup(const FlowKey& key, const Place& p, uint64_t now_ms);
  // The slot prefetch_entry() brought in, for lookup() to try before searching: a hit then
  // skips comparing the tags again.
  struct Candidate {
    static constexpr uint32_t kNone = UINT32_MAX;
    uint32_t slot = kNone;  // bucket * 16 + index
  };
  FlowValue* lookup(const FlowKey& key, const Place& p, Candidate candidate, uint64_t now_ms) {
    if (candidate.slot != Candidate::kNone) {
      const uint32_t bucket = candidate.slot / kSlots;
      const uint32_t index = candidate.slot % kSlots;
      Entry& entry = entries_[candidate.slot];
      // The tag is checked again: the slot may have been freed or reused since the prefetch.
      if (headers_[bucket].tags[index] == p.tag && entry.key == key &&
          flow_alive(entry.value.expires_at_ms, now_ms)) {
        return &entry.value;
      }
    }
    return lookup(key, p, now_ms);
  }
  // Inserts key (must not be live already). Returns the stored value, or nullptr when both
  // candidate buckets hold only established (or otherwise unevictable) live flows. `evicted`, when
  // given, says what the slot held.
  FlowValue* insert(const FlowKey& key, uint64_t hash, const FlowValue& value, uint64_t now_ms) {
    return insert(key, place(hash), value, now_ms);
  }
  FlowValue* insert(const FlowKey& key, const Place& p, const FlowValue& value, uint64_t now_ms,
                    FlowEviction* evicted = nullptr);
  // flow_observe() for an entry of this table (a pointer lookup() or insert() returned): also
  // keeps the per-bucket record of half-open and closing slots that eviction reads instead of the
  // entries, and gives a half-open flow the short SYN timeout while the table is under pressure.
  void observe(FlowValue& flow, uint8_t protocol, uint8_t tcp_flags, uint64_t now_ms,
               const FlowTimeouts& timeouts) {
    // Most packets: an established TCP flow's segment without SYN, FIN or RST keeps its state
    // and gets the established timeout; a UDP flow only its timeout. What flow_observe would do,
    // without its call and state machine (~20 instructions per packet).
    if (protocol == kProtoTcp) {
      if (flow.tcp_state == TcpFlowState::established &&
          (tcp_flags & (kTcpSyn | kTcpFin | kTcpRst)) == 0) [[likely]] {
        flow.expires_at_ms = static_cast<uint32_t>(now_ms + timeouts.tcp_established_ms);
        return;
      }
    } else if (protocol == kProtoUdp) {
      flow.expires_at_ms = static_cast<uint32_t>(now_ms + timeouts.udp_ms);
      return;
    }
    const TcpFlowState before = flow.tcp_state;
    flow_observe(flow, protocol, tcp_flags, now_ms, timeouts);
    // Established and closing TCP flows keep their state; other protocols have none.
    if (flow.tcp_state == before && (before >= TcpFlowState::established || protocol != kProtoTcp))
        [[likely]]
      return;
    state_changed(flow, before, now_ms, timeouts);
  }
  // flow_sync: when set, every TCP flow that becomes established is journaled here for the
  // other nodes (journal_new() adds the flows of other protocols); a full journal counts a loss.
  void set_sync_journal(FlowSyncRing* journal) { journal_ = journal; }
  void journal_new(const FlowKey& key, const FlowValue& flow) {
    if (journal_ != nullptr) journal(key, flow);
  }
  uint64_t sync_journal_full() const { return journal_full_; }
  // flow_sync: adopts a flow another node made (marked kFlowAdopted), unless this table has one
  // for the key (what this node saw itself wins; with the same back-end, a peer's refresh, its
  // timeout starts again). TCP flows come established (the only ones shared); the entry gets the
  // timeouts of its state as if its last packet arrived now. False when nothing was adopted:
  // the key is known, or there was no room (both buckets full of established flows).
  bool adopt(const FlowSyncRecord& record, uint64_t now_ms, const FlowTimeouts& timeouts);

  // Whether new flows recently found both candidate buckets full (in the last kPressureHoldMs).
  // Under pressure: an insert found both candidate buckets full of live flows in the last
  // kPressureHoldMs, or a quarter of the slots hold half-open flows (a SYN flood on its way).
  bool under_pressure(uint64_t now_ms) const {
    return (been_full_ && now_ms - last_full_ms_ < kPressureHoldMs) || half_open_ * 4 > capacity();
  }
  static constexpr uint64_t kPressureHoldMs = 10'000;
  // Live or not-yet-swept entries that have seen only a SYN.
  size_t half_open() const { return half_open_; }
  // A word beside each entry for the SYN proxy, kept apart so that an entry stays one cache line:
  // while a proxied flow's back-end is opening, the cookie (high half) and the client's initial
  // sequence number (low half); then the offset from the cookie's sequence numbers to the
  // back-end's (low half). `flow` is a pointer lookup() or insert() returned; the word is the
  // flow's while the flow stays in its slot, and insert() does not initialise it.
  uint64_t& proxy_word(const FlowValue& flow) {
    const auto* entry = reinterpret_cast<const Entry*>(reinterpret_cast<const char*>(&flow) -
                                                       offsetof(Entry, value));
    return proxy_words_[static_cast<size_t>(entry - entries_.get())];
  }
  // Removes key if present.
  void erase(const FlowKey& key, uint64_t hash);
  // Brings the bucket headers of p into cache ahead of lookup().
  void prefetch(const Place& p) const {
    // The tag lines only: an entry is read on a tag match, and which one is not yet known.
    __builtin_prefetch(headers_[p.left].tags);
    __builtin_prefetch(headers_[p.right].tags);
  }
  // Once prefetch()'s lines have arrived: brings in the entry whose tag matches, the one line a
  // hit still misses on, and returns it for lookup(). A burst calls prefetch() for every packet,
  // then this, then lookup(). Inline, the two buckets spelled out: as a call looping over
  // {left, right} it cost ~15 instructions per packet more.
  Candidate prefetch_entry(const Place& p) const {
    uint32_t bucket = p.left;
    uint32_t mask = matching_tags(headers_[bucket].tags, p.tag);
    if (mask == 0) {
      bucket = p.right;
      mask = matching_tags(headers_[bucket].tags, p.tag);
      if (mask == 0) return Candidate{};
    }
    const uint32_t slot =
        bucket * static_cast<uint32_t>(kSlots) + static_cast<uint32_t>(__builtin_ctz(mask));
    __builtin_prefetch(&entries_[slot]);
    return Candidate{slot};
  }
  // Frees expired entries in the next `max_buckets` buckets (incremental sweep, bounded work).
  // Returns how many were freed.
  size_t expire_some(uint64_t now_ms, size_t max_buckets);
  // The worker's sweep: the buckets due since the last call at a pace that passes over the whole
  // table every kSweepPeriodMs (at most kMaxSweepBuckets per call). Sweeping a fixed number per
  // poll iteration instead cost ~30 cache lines per packet under load.
  size_t expire_due(uint64_t now_ms);
  // Whether the sweep owes buckets a call could pay now (calls were far apart).
  bool sweep_behind() const;
  static constexpr uint64_t kSweepPeriodMs = 10'000;
  static constexpr size_t kMaxSweepBuckets = 64;

  size_t size() const;      // occupied slots (live or expired but not yet swept)
  size_t capacity() const;  // slots in all
  size_t memory_bytes() const;

  // Visits occupied, unexpired entries (control side, e.g. listing flows). Not for the hot path.
  void for_each(uint64_t now_ms,
                const std::function<void(const FlowKey&, const FlowValue&)>& visit) const;

  // Incremental scan for the owning worker (e.g. answering a flow query in small steps): calls
  // visit(const FlowKey&, const FlowValue&) for every live (unexpired at now_ms) entry of the
  // buckets [from_bucket, from_bucket + max_buckets) and returns the next bucket to scan, which
  // is bucket_count() once the scan is complete. No allocation; the visitor is inlined.
  // Entries never move between buckets, so across a scan in steps (from 0 until it returns
  // bucket_count()) an entry that stays alive and in place throughout is visited exactly once;
  // one inserted or erased between steps may or may not be.
  template <typename Visit>
  size_t scan(size_t from_bucket, size_t max_buckets, uint64_t now_ms, Visit&& visit) const {
    const size_t end = from_bucket >= bucket_count_ || max_buckets >= bucket_count_ - from_bucket
                           ? bucket_count_
                           : from_bucket + max_buckets;
    for (size_t b = from_bucket; b < end; ++b) {
      const BucketHeader& header = headers_[b];
      const Entry* entries = bucket_entries(b);
      for (size_t i = 0; i < kSlots; ++i) {
        if (header.tags[i] != 0 && flow_alive(entries[i].value.expires_at_ms, now_ms)) {
          visit(entries[i].key, entries[i].value);
        }
      }
    }
    return end;
  }
  size_t bucket_count() const { return bucket_count_; }

 private:
  // A bucket is sixteen slots: a 64-byte header line with their tags (tag 0 marks an empty slot)
  // and, apart from it, sixteen 64-byte entries, each a key and its value in one line. A probe
  // compares the sixteen tags within one line and reads an entry only on a tag match. Sixteen
  // rather than eight because two choices without displacement overflow an 8-slot bucket from ~70%
  // load, a 16-slot one only from ~85% (simulated up to 10M flows), so 1.25x head-room suffices.
  // The headers live in their own array rather than beside their entries: at 4 bytes a slot they
  // are a sixteenth of the table (10 MB for 2M flows), dense enough to stay in the last-level
  // cache and within a few huge pages, so a hit pays one memory access (its entry) instead of
  // three (two candidate header lines and the entry), and probing the second candidate is cheap.
  static constexpr size_t kSlots = 16;
  struct alignas(64) Entry {
    FlowKey key;
    FlowValue value;
  };
  // Besides the tags, the header holds per slot a coarse copy of the expiry written at insert: a
  // lower bound (flows only ever extend it), so "alive by the hint" needs no further look and only
  // "expired by the hint" is checked against the entry. Finding a slot to reuse and sweeping then
  // read one line per bucket instead of sixteen.
  struct alignas(64) BucketHeader {
    uint16_t tags[kSlots] = {};
    uint16_t expiry_hints[kSlots] = {};  // expires_at_ms >> kHintShift, modulo 2^16
  };
  static_assert(sizeof(Entry) == 64);
  static_assert(sizeof(BucketHeader) == 64);
  // Which slots of a bucket hold a half-open or a closing flow (bit i = slot i), kept beside the
  // headers so that choosing a victim in two full buckets reads two small words, not 32 entries.
  // Dense (4 bytes a bucket): stays in cache. Written only when a flow changes state.
  struct StateMasks {
    uint16_t half_open = 0;
    uint16_t closing = 0;
  };

  // Where a new flow goes; found is false when both candidates are full of live entries.
  struct Slot {
    bool found = false;
    uint32_t bucket = 0;
    size_t index = 0;
    bool was_expired = false;  // the slot held an expired entry, so size() does not grow
  };

  // Bit i set when tags[i] == tag: one comparison of all sixteen tags (two SSE2 compares).
  static uint32_t matching_tags(const uint16_t* tags, uint16_t tag) {
#if defined(__SSE2__)
    const __m128i wanted = _mm_set1_epi16(static_cast<short>(tag));
    const __m128i lo =
        _mm_cmpeq_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(tags)), wanted);
    const __m128i hi =
        _mm_cmpeq_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(tags + 8)), wanted);
    // packs_epi16 narrows each 16-bit 0/-1 lane to one byte, movemask takes one bit per byte.
    return static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(lo, hi)));
#else
    uint32_t mask = 0;
    for (uint32_t i = 0; i < 16; ++i) mask |= uint32_t{tags[i] == tag} << i;
    return mask;
#endif
  }
  static constexpr unsigned kHintShift = 10;  // ~1 s units: 2^16 of them span 18 hours
  static uint16_t hint_of(uint32_t expires_at_ms) {
    return static_cast<uint16_t>(expires_at_ms >> kHintShift);
  }
  static bool hint_alive(uint16_t hint, uint64_t now_ms) {
    return static_cast<int16_t>(hint - static_cast<uint16_t>(now_ms >> kHintShift)) > 0;
  }
  // Whether slot i is free or expired; reads the entry only when its hint says expired.
  // Refreshes the slot's expiry hint when the entry outlived it (so not const).
  bool reusable(uint32_t bucket, size_t i, uint64_t now_ms);
  FlowValue* find_live(uint32_t bucket, const FlowKey& key, uint16_t tag, uint64_t now_ms) const;
  Entry* bucket_entries(size_t bucket) const { return &entries_[bucket * kSlots]; }

  // Maps 32 hash bits onto [0, n) with a multiply instead of a modulo, so the bucket count need
  // not be a power of two and the head-room is not doubled by rounding up.
  static uint32_t fast_range(uint32_t bits, uint32_t n) {
    return static_cast<uint32_t>((uint64_t{bits} * n) >> 32);
  }
  template <typename T>
  static T* allocate_huge(size_t count);
  void state_changed(FlowValue& flow, TcpFlowState before, uint64_t now_ms,
                     const FlowTimeouts& timeouts);
  void journal(const FlowKey& key, const FlowValue& flow);
  // Forgets slot i of bucket as half-open or closing (it is freed or overwritten).
  void clear_state(uint32_t bucket, size_t i) {
    StateMasks& m = masks_[bucket];
    const uint16_t bit = static_cast<uint16_t>(1u << i);
    if (m.half_open & bit) --half_open_;
    m.half_open &= static_cast<uint16_t>(~bit);
    m.closing &= static_cast<uint16_t>(~bit);
  }
  // The slot of `mask` (bits of slots in buckets b) whose hint expires first, or found=false.
  Slot oldest_of(const uint32_t (&buckets)[2], const uint16_t (&masks)[2]) const;
  Slot expired_copy(const FlowKey& key, const Place& p);
  Slot pick_slot(const Place& p, uint64_t now_ms);
  Slot pick_expired_slot(const Place& p, uint64_t now_ms);

  struct Free {
    void operator()(void* memory) const;
  };
  std::unique_ptr<BucketHeader[], Free> headers_;
  std::unique_ptr<Entry[], Free> entries_;   // bucket b's slots are [b * kSlots, (b + 1) * kSlots)
  std::unique_ptr<StateMasks[]> masks_;      // by bucket
  std::unique_ptr<uint64_t[]> proxy_words_;  // by slot, like entries_
  FlowSyncRing* journal_ = nullptr;
  uint64_t journal_full_ = 0;
  uint64_t last_full_ms_ = 0;  // the last insert that found both candidate buckets full
  bool been_full_ = false;     // last_full_ms_ is set
  size_t half_open_ = 0;
  uint64_t last_sweep_ms_ = 0;
  uint64_t sweep_credit_ = 0;  // bucket-milliseconds owed, divided by kSweepPeriodMs when paid
  uint32_t bucket_count_ = 0;
  uint32_t left_count_ = 0;    // buckets [0, left_count_) form the left half
  uint32_t sweep_cursor_ = 0;  // next bucket expire_some() visits
  size_t size_ = 0;
};

}  // namespace fairway
