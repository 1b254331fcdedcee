#pragma once
// The packet filter (patent Fig. 6, see docs/DESIGN.md): one frame from a data port in, one
// decision out.
// parse -> own address / VIP / reverse NAT / transit -> flow lookup or schedule -> rewrite ->
// route. Works on plain bytes so that it runs the same in a worker, a test and fairway-sim.
// No allocation, no locks, no system calls.
#include <cstdint>
#include <span>

#include "lb/flow_table.h"
#include "pipeline/counters.h"
#include "pipeline/kernel_priority.h"
#include "pipeline/snapshot.h"

namespace fairway {

enum class Verdict : uint8_t {
  drop,        // counted under `reason`
  forward,     // send the (rewritten) frame on `port`
  to_kernel,   // hand the frame to the exception path of `port` (as received, or reverse-NATed)
  reassemble,  // a fragment to a service, or from a nat back-end: the worker gathers the
               // datagram's fragments (rte_ip_frag) and decides the whole datagram again
};

// Eight bytes: a burst's decisions are stored whole; at six, the caller's copy of one returned in
// a register was written in 2-byte pieces and read back across them, stalling store forwarding.
struct alignas(8) Decision {
  Verdict verdict = Verdict::drop;
  DropReason reason = DropReason::none;
  uint16_t port = kNoPort;
  uint16_t length = 0;  // frame length after processing (replies change it)
  KernelPriority priority = KernelPriority::other;  // to_kernel: the exception path's class
  uint8_t reserved = 0;  // every byte defined: a Decision is built and stored as one 8-byte word
};
static_assert(sizeof(Decision) == 8);

// When services with `syn_proxy: under_pressure` answer SYNs with cookies: while the worker's flow
// table is under pressure and for kHoldMs after; renewed while most of the last second's cookies
// went unanswered (a flood the proxy absorbs no longer fills the table, so the table alone would
// say the pressure is over). One per worker, kept from burst to burst.
struct SynProxyEngagement {
  static constexpr uint64_t kHoldMs = 10'000;
  static constexpr uint64_t kWindowMs = 1'000;
  static constexpr uint32_t kMinUnanswered = 64;  // fewer unanswered cookies a second: no flood
  uint64_t until_ms = 0;
  uint64_t window_start_ms = 0;
  uint32_t sent = 0;       // cookies sent in the window
  uint32_t validated = 0;  // cookies validated in the window
  bool engaged(bool table_under_pressure, uint64_t now_ms);
  // Whether SYNs to `under_pressure` services get cookies now (as of the last one decided).
  bool active(uint64_t now_ms) const { return now_ms < until_ms; }
};

struct PipelineContext {
  FlowTable& flows;
  WorkerCounters& counters;
  uint64_t now_ms = 0;
  // New flows per back-end stats slot; null counts nothing (fairway-sim, some tests).
  BackendCounters* backend_counters = nullptr;
  // Per-service events by service stats slot; null counts nothing.
  ServiceCounters* service_counters = nullptr;
  // Seconds since the epoch (the worker's clock plus an offset taken at start): the SYN cookies'
  // clock, which nodes sharing a cookie key must agree on.
  uint64_t wall_seconds = 0;
  SynProxyEngagement syn_proxy;
};

// The back-end the service's scheduler picks for a new flow from `client` with this key hash
// (weighted Maglev; a capability pool's table when the client is in one; under source-hash the
// table is indexed by source_hash(client) instead), or nullptr when no back-end has weight.
// Shared by the pipeline and fairway-sim.
const Backend* schedule(const Service& service, uint64_t flow_hash, const IpAddress& client);

inline constexpr size_t kMaxBurst = 32;

struct FrameRef {
  std::span<uint8_t> buffer;  // the frame's writable room
  uint16_t length = 0;        // the frame is buffer's first `length` bytes
  // The NIC verified the IPv4 header checksum and found it right (RTE_MBUF_F_RX_IP_CKSUM_GOOD):
  // the parser skips its own check. False when the NIC gives no verdict (net_pcap, af_xdp).
  bool ipv4_checksum_good = false;
};

// A burst (at most kMaxBurst frames) from one port, decided in order: a rolling pipeline parses
// and prefetches a frame's flow-table lines several frames ahead of its decision. The decisions
// are exactly those of process_frame one frame at a time. decisions[i] is frames[i]'s.
void process_burst(const Snapshot& snapshot, PipelineContext& ctx, uint16_t in_port,
                   std::span<const FrameRef> frames, Decision* decisions);

// `buffer` is the frame's writable room; the frame is its first `length` bytes.
// `in_port` is the data port the frame arrived on. Counters are updated here, except
// rx/tx (the caller's) and drops of frames whose TX later fails.
Decision process_frame(const Snapshot& snapshot, PipelineContext& ctx, uint16_t in_port,
                       std::span<uint8_t> buffer, uint16_t length);

}  // namespace fairway
