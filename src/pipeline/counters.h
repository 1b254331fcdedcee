#pragma once
// A worker's counters: written only by that worker, without atomics; the control core sums
// them (a torn read of a 64-bit counter cannot happen on the 64-bit targets we support).
#include <array>
#include <cstdint>

#include "packet/drop_reason.h"

namespace fairway {

#define FAIRWAY_EVENT_COUNTERS(X)                                                               \
  X(rx_packets)               /* received on data ports */                                      \
  X(tx_packets)               /* handed to a data port's TX queue */                            \
  X(dsr_forwarded)            /* to a back-end, MACs rewritten */                               \
  X(nat_forwarded)            /* to a back-end, destination rewritten */                        \
  X(nat_reversed)             /* a nat back-end's reply, source rewritten to the VIP */         \
  X(flows_created)            /* new flow-table entries */                                      \
  X(flows_consistent)         /* TCP without SYN, no flow, sent to the Maglev choice */         \
  X(flows_reused)             /* a SYN on a closing entry, or one whose back-end takes no new   \
                                 flows: the entry dropped, the flow scheduled again */          \
  X(flows_untracked)          /* new flows forwarded without an entry (buckets full of          \
                                 established flows) */                                          \
  X(flows_evicted_half_open)  /* half-open entries given up for a new flow */                   \
  X(flows_evicted_closing)    /* closing entries given up for a new flow */                     \
  X(syn_cookies_sent)         /* SYNs answered by the SYN proxy with a cookie */                \
  X(syn_cookies_validated)    /* ACKs whose cookie proved the client: flow opened */            \
  X(syn_proxy_backend_syns)   /* SYNs sent to open a proxied flow's back-end side */            \
  X(syn_proxy_backend_acks)   /* back-ends' SYN-ACKs answered with the completing ACK */        \
  X(icmp_errors_to_backend)   /* ICMP errors about a flow, sent to its back-end */              \
  X(transit_forwarded)        /* routed through the data plane */                               \
  X(to_kernel)                /* handed to the kernel through the exception path */             \
  X(from_kernel)              /* sent by the kernel through the exception path */               \
  X(resets_sent)              /* TCP resets for invalid services (or strict misses) */          \
  X(flows_reset_backend_down) /* flows ended as their back-end is down (policy reset):          \
                                 TCP answered with a reset, UDP or a SYN rescheduled */         \
  X(echo_replies)             /* ICMP echo replies for VIPs */                                  \
  X(port_unreachables)        /* ICMP port unreachable for unserved UDP */                      \
  X(busy_iterations)          /* poll iterations that received packets */                       \
  X(busy_cycles)              /* TSC cycles spent in those iterations */                        \
  X(idle_sleeps)              /* times the worker slept for want of packets (adaptive) */       \
  X(flows_adopted)            /* flows other nodes made, adopted into this table (flow_sync) */ \
  X(fragments_held)           /* fragments taken into the reassembly table */                   \
  X(datagrams_reassembled)    /* datagrams made whole again and decided */                      \
  X(fragments_sent)           /* fragments made for the egress port from a whole datagram */

// Per-back-end counters: the control core gives each (service, back-end) a slot, stable across
// snapshots, in Backend::stats_slot; kNoStatsSlot (or any slot >= kBackendStatsSlots) counts
// nothing.
inline constexpr uint32_t kBackendStatsSlots = 4096;
inline constexpr uint32_t kNoStatsSlot = UINT32_MAX;

// One back-end's traffic through one worker. One 64-byte line per back-end: forwarding a packet
// touches one counter line. Bytes are frame bytes (Ethernet header included), as the ports
// count them.
struct alignas(64) BackendTraffic {
  uint64_t flows_created = 0;  // new flows scheduled to the back-end
  uint64_t packets_in = 0;     // client -> back-end, forwarded
  uint64_t bytes_in = 0;
  uint64_t packets_out = 0;  // back-end -> client, translated back (nat; dsr replies bypass us)
  uint64_t bytes_out = 0;
  uint64_t flows_reset = 0;  // flows ended because the back-end went down (on_backend_down: reset)

  BackendTraffic& operator+=(const BackendTraffic& other) {
    flows_created += other.flows_created;
    packets_in += other.packets_in;
    bytes_in += other.bytes_in;
    packets_out += other.packets_out;
    bytes_out += other.bytes_out;
    flows_reset += other.flows_reset;
    return *this;
  }
};
static_assert(sizeof(BackendTraffic) == 64);

// A worker's per-back-end counters, by stats slot (256 KiB). Written only by that worker, read by
// the control core like WorkerCounters (plain 64-bit reads, summed over workers).
struct alignas(64) BackendCounters {
  std::array<BackendTraffic, kBackendStatsSlots> slots{};

  BackendTraffic* of(uint32_t slot) { return slot < kBackendStatsSlots ? &slots[slot] : nullptr; }
  BackendTraffic get(uint32_t slot) const {
    return slot < kBackendStatsSlots ? slots[slot] : BackendTraffic{};
  }
};

// A worker's per-service counters, by the service's stats slot (Service::stats_slot, from the same
// slot space as the back-ends'). One 64-byte record per slot: an event touches one line.
struct alignas(64) ServiceEvents {
  uint64_t syns = 0;               // bare SYNs (TCP, no ACK) that reached the service
  uint64_t flows_untracked = 0;    // new flows forwarded without a flow-table entry
  uint64_t denied = 0;             // packets dropped by a deny list (global or the service's)
  uint64_t cookies_sent = 0;       // SYNs the SYN proxy answered with a cookie
  uint64_t cookies_validated = 0;  // ACKs whose cookie was good: proxied flows opened
  uint64_t cookies_invalid = 0;    // ACKs with a bad cookie, dropped (syn_proxy: always)

  ServiceEvents& operator+=(const ServiceEvents& other) {
    syns += other.syns;
    flows_untracked += other.flows_untracked;
    denied += other.denied;
    cookies_sent += other.cookies_sent;
    cookies_validated += other.cookies_validated;
    cookies_invalid += other.cookies_invalid;
    return *this;
  }
};
static_assert(sizeof(ServiceEvents) == 64);
struct alignas(64) ServiceCounters {
  std::array<ServiceEvents, kBackendStatsSlots> slots{};

  ServiceEvents* of(uint32_t slot) { return slot < kBackendStatsSlots ? &slots[slot] : nullptr; }
  ServiceEvents get(uint32_t slot) const {
    return slot < kBackendStatsSlots ? slots[slot] : ServiceEvents{};
  }
};

struct WorkerCounters {
#define FAIRWAY_EVENT_FIELD(name) uint64_t name = 0;
  FAIRWAY_EVENT_COUNTERS(FAIRWAY_EVENT_FIELD)
#undef FAIRWAY_EVENT_FIELD
  std::array<uint64_t, kDropReasonCount> drops{};

  void drop(DropReason reason) {
    ++drops[static_cast<size_t>(reason)];
  }
  WorkerCounters& operator+=(const WorkerCounters& other);
};

}  // namespace fairway
