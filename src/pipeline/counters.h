#pragma once
// A worker's counters: written only by that worker, without atomics; the control core sums
// them (a torn read of a 64-bit counter cannot happen on the 64-bit targets we support).
#include <array>
#include <cstdint>

#include "packet/drop_reason.h"

namespace fairway {

#define FAIRWAY_EVENT_COUNTERS(X)                                                   \
  X(rx_packets)         /* received on data ports */                                \
  X(tx_packets)         /* handed to a data port's TX queue */                      \
  X(dsr_forwarded)      /* to a back-end, MACs rewritten */                         \
  X(nat_forwarded)      /* to a back-end, destination rewritten */                  \
  X(nat_reversed)       /* a nat back-end's reply, source rewritten to the VIP */   \
  X(flows_created)      /* new flow-table entries */                                \
  X(flows_consistent)   /* TCP without SYN, no flow, sent to the Maglev choice */   \
  X(icmp_errors_to_backend) /* ICMP errors about a flow, sent to its back-end */    \
  X(transit_forwarded)  /* routed through the data plane */                         \
  X(to_kernel)          /* handed to the kernel through the exception path */       \
  X(from_kernel)        /* sent by the kernel through the exception path */         \
  X(resets_sent)        /* TCP resets for invalid services (or strict misses) */    \
  X(echo_replies)       /* ICMP echo replies for VIPs */                            \
  X(port_unreachables)  /* ICMP port unreachable for unserved UDP */                \
  X(busy_iterations)    /* poll iterations that received packets */                \
  X(busy_cycles)        /* TSC cycles spent in those iterations */

struct WorkerCounters {
#define FAIRWAY_EVENT_FIELD(name) uint64_t name = 0;
  FAIRWAY_EVENT_COUNTERS(FAIRWAY_EVENT_FIELD)
#undef FAIRWAY_EVENT_FIELD
  std::array<uint64_t, kDropReasonCount> drops{};

  void drop(DropReason reason) { ++drops[static_cast<size_t>(reason)]; }
  WorkerCounters& operator+=(const WorkerCounters& other);
};

}  // namespace fairway
