#pragma once
// Listing and counting a worker's flows without stopping it: the control core posts a query
// (filter, limit) into the worker's mailbox, the worker answers it a few buckets per poll
// iteration from its own flow table (which only it may touch), then hands the result back.
// Nothing here allocates on the worker: the control core reserves room for `limit` records.
//
// The mailbox protocol. Each state has one owner, the only side that may change it (except the
// one cancel transition) or touch the mailbox's other fields:
//
//   control owns: idle, done        worker owns: requested, cancelling
//
//   idle/done  --post() [control, release]---------> requested
//   requested  --step() completes [worker, release]-> done
//   requested  --cancel() [control, CAS]-----------> cancelling
//   cancelling --poll() [worker, release]----------> idle  (or done, if the step in flight when
//                                                           cancel() landed completed the scan)
//
// The worker stores its final state with release after its last write to the mailbox; the control
// core reads the result, or reuses the mailbox, only after an acquire load shows idle or done. The
// CAS requested -> cancelling never races a worker write: the worker only ever replaces requested
// or cancelling, and the control core cannot post again before the worker has let go. So a query
// that times out (a stopped or stalled worker) is cancelled and simply left to the worker: the
// mailbox lives as long as the worker's context (the daemon's life), nothing is freed under the
// worker, and the next post() waits until the worker has acknowledged. A worker that never runs
// again keeps its mailbox in requested/cancelling: later queries report it incomplete.
//
// The control side of one mailbox is single-threaded: callers serialize (query_flows() does).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "lb/flow_key.h"
#include "lb/flow_table.h"
#include "packet/addresses.h"
#include "packet/parse.h"  // kProtoTcp, kProtoUdp for FlowFilter::protocol

namespace fairway {

// Which flows a query selects; an empty field matches anything. A service is selected by its
// (vip, vip_port, protocol).
struct FlowFilter {
  std::optional<IpAddress> client;  // the key's source address
  std::optional<IpAddress> vip;     // the key's destination address
  std::optional<uint16_t> vip_port;
  std::optional<uint8_t> protocol;  // kProtoTcp, kProtoUdp
  std::optional<IpAddress> backend;
  std::optional<uint16_t> backend_port;

  bool matches(const FlowKey& key, const FlowValue& value) const;

  // The flows of a service: a snapshot's Service or a ServiceConfig (vip, port, protocol).
  template <typename Service>
  static FlowFilter of_service(const Service& service) {
    FlowFilter filter;
    filter.vip = service.vip;
    filter.vip_port = service.port;
    filter.protocol = service.protocol;
    return filter;
  }
};

struct FlowRecord {
  FlowKey key;
  FlowValue value;
  uint32_t worker = 0;
  // Milliseconds left until the flow expires if idle, on the worker's clock when it was read
  // (value.expires_at_ms is that clock modulo 2^32 and means nothing on the control core).
  uint32_t expires_in_ms = 0;
};

// What the workers answered to one query, summed over them.
struct FlowListing {
  uint64_t matched = 0;           // flows matching the filter, on the workers that answered
  std::vector<FlowRecord> flows;  // the first `limit` of them (worker by worker, bucket order)
  bool complete = true;           // every worker answered within the timeout
};

class FlowQuery {
 public:
  enum class State : uint8_t {
    idle,        // control: nothing posted, or a cancelled query acknowledged
    done,        // control: the scan completed; matched() and records are the result
    requested,   // worker: scanning
    cancelling,  // worker: the control core gave up; the worker acknowledges with idle
  };
  // Buckets a worker scans per poll iteration: 64 x 16 slots, about 1 100 cache lines.
  static constexpr size_t kStepBuckets = 64;

  // Control core. Posts a query for `limit` records at most (0: count only) for worker `worker`.
  // Reserves the records here so that the worker never allocates. Returns false, changing
  // nothing, while the worker still owns the mailbox (a previous query not yet acknowledged).
  bool post(const FlowFilter& filter, size_t limit, uint32_t worker);
  // Control core. requested -> cancelling; false when the query is not in that state any more.
  bool cancel();
  // Either side: the current state (acquire).
  State state() const { return state_.load(std::memory_order_acquire); }
  // Control core, once state() == done: every match the scan saw, and the first `limit` of them.
  uint64_t matched() const { return matched_; }
  std::vector<FlowRecord> take_records() { return std::move(records_); }

  // Worker, once per poll iteration: one acquire load while there is nothing to do.
  void poll(const FlowTable& flows, uint64_t now_ms) {
    if (state_.load(std::memory_order_acquire) < State::requested) [[likely]] return;
    serve(flows, now_ms);
  }
  // Worker (tests call it directly): scans the next kStepBuckets buckets, appends matches while
  // under the limit, counts them all; marks the query done (release) when the scan completes.
  // Returns whether it completed. Only in state requested.
  bool step(const FlowTable& flows, uint64_t now_ms);

 private:
  void serve(const FlowTable& flows, uint64_t now_ms);

  alignas(64) std::atomic<State> state_{State::idle};
  // Written by the control core in post(), read by the worker while it owns the mailbox.
  FlowFilter filter_;
  size_t limit_ = 0;
  uint32_t worker_ = 0;
  // Written by the worker while it owns the mailbox, read by the control core after done.
  size_t cursor_ = 0;  // next bucket
  uint64_t matched_ = 0;
  std::vector<FlowRecord> records_;
};

}  // namespace fairway
