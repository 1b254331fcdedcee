#pragma once
// IP fragments to a service, per worker (docs/FRAGMENTS.md). DPDK's rte_ip_frag gathers the
// fragments of a datagram in a bounded table (a timeout, a death row for what it drops); the
// worker runs the whole datagram through the pipeline like any packet, so that it goes to the
// back-end its 5-tuple's flow chose, and rte_ip_frag splits the result again for the egress
// port's MTU. Memory is bounded twice: datagrams in the table (max_datagrams) and fragments held
// (max_fragments; the mbuf pool is grown by that much per worker).
#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "control/config.h"
#include "pipeline/counters.h"

namespace fairway {

// Enough fragments for a 64 KB datagram at the smallest MTU we split for (1280).
inline constexpr uint16_t kMaxFragmentsOut = 64;

class FragmentReassembler {
 public:
  FragmentReassembler() = default;
  ~FragmentReassembler();
  FragmentReassembler(const FragmentReassembler&) = delete;
  FragmentReassembler& operator=(const FragmentReassembler&) = delete;

  // `direct` is the packet pool (whole fragments, the split fragments' headers); `indirect` a
  // pool of data-less mbufs that rte_ip_frag attaches the payload with while it splits.
  bool init(const FragmentConfig& config, rte_mempool* direct, rte_mempool* indirect, int socket,
            std::string& error);

  // Takes `m`, an Ethernet frame holding an IPv4 fragment or an IPv6 one whose fragment header
  // follows the fixed header (the pipeline's Verdict::reassemble). Returns the whole datagram
  // (the fragments' mbufs chained, the first one's headers) when `m` completed it, else nullptr:
  // held, or dropped and counted.
  rte_mbuf* add(rte_mbuf* m, uint64_t now_tsc, WorkerCounters& counters);

  // Copies the whole datagram into the worker's scratch frame, its IPv4 header checksum
  // restored, for the pipeline. Empty when it does not fit (counted, `datagram` freed).
  std::span<uint8_t> load(rte_mbuf* datagram, uint16_t& length, WorkerCounters& counters);

  // Frames of at most `mtu` + 14 bytes carrying the pipeline's output `frame` (the first
  // `length` bytes of the scratch frame); consumes `datagram`. Returns how many were put in
  // `out` (0: dropped and counted).
  uint16_t split(rte_mbuf* datagram, uint16_t length, uint16_t mtu, rte_mbuf** out,
                 WorkerCounters& counters);

  // Drops the datagrams that waited longer than the timeout. Once per worker iteration.
  void expire(uint64_t now_tsc, WorkerCounters& counters);
  // Frees what the table dropped. After each burst's fragments and after expire().
  void free_dropped();

  uint32_t held() const { return held_; }

 private:
  enum class Insert { taken, dropped, no_slot };
  // One try at rte_ip_frag. no_slot: no entry for a new datagram; `m` is the last mbuf on the
  // death row, unchanged, and nothing is counted yet.
  Insert insert(rte_mbuf* m, uint64_t now_tsc, WorkerCounters& counters, rte_mbuf*& whole);

  rte_ip_frag_tbl* table_ = nullptr;
  uint64_t max_cycles_ = 0;
  uint64_t min_wait_cycles_ = 0;
  rte_ip_frag_death_row death_row_{};
  rte_mempool* direct_ = nullptr;
  rte_mempool* indirect_ = nullptr;
  uint32_t max_fragments_ = 0;
  uint32_t held_ = 0;  // fragments in the table
  // The IPv6 identification of the datagram add() last completed: the split fragments keep it
  // (rte_ipv6_fragment_packet writes 0).
  uint32_t ipv6_id_ = 0;
  std::vector<uint8_t> scratch_;
};

}  // namespace fairway
