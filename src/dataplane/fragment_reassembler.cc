#include "dataplane/fragment_reassembler.h"

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <algorithm>
#include <cstring>

namespace fairway {
namespace {

constexpr uint32_t kBucketEntries = 8;
// When the table is full, datagrams that waited this long give way to new ones. The fragments of
// a datagram leave their sender back to back: at 1 Gb/s a 64 KB datagram's take 0.5 ms.
constexpr uint64_t kMinWaitUnderPressureMs = 1;  // rte_ip_frag's associativity: a power of two
constexpr uint16_t kEthernetHeader = RTE_ETHER_HDR_LEN;
constexpr uint16_t kIpv6Header = sizeof(rte_ipv6_hdr);
constexpr uint16_t kIpv6FragmentHeader = sizeof(rte_ipv6_fragment_ext);
// Room after a frame in the scratch buffer: replies the pipeline builds in place may be longer.
constexpr size_t kScratchRoom = 65536 + 256;

uint32_t power_of_two_at_least(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

uint16_t ethertype_of(const uint8_t* frame) {
  return static_cast<uint16_t>(frame[12] << 8 | frame[13]);
}

void count_drops(WorkerCounters& counters, DropReason reason, uint32_t n) {
  counters.drops[static_cast<size_t>(reason)] += n;
}

}  // namespace

FragmentReassembler::~FragmentReassembler() {
  free_dropped();
  // Destroying the table frees the fragments it still holds.
  if (table_ != nullptr) rte_ip_frag_table_destroy(table_);
}

bool FragmentReassembler::init(const FragmentConfig& config, rte_mempool* direct,
                               rte_mempool* indirect, int socket, std::string& error) {
  const uint64_t max_cycles = rte_get_tsc_hz() / 1000 * config.timeout_ms;
  const uint32_t entries =
      power_of_two_at_least(std::max(config.max_datagrams * 2, kBucketEntries));
  table_ = rte_ip_frag_table_create(entries / kBucketEntries, kBucketEntries, config.max_datagrams,
                                    max_cycles, socket);
  if (table_ == nullptr) {
    error = "cannot create the fragment reassembly table (fragments.max_datagrams " +
            std::to_string(config.max_datagrams) + ")";
    return false;
  }
  max_cycles_ = max_cycles;
  min_wait_cycles_ = std::min(max_cycles, rte_get_tsc_hz() / 1000 * kMinWaitUnderPressureMs);
  direct_ = direct;
  indirect_ = indirect;
  max_fragments_ = config.max_fragments;
  scratch_.assign(kScratchRoom, 0);
  return true;
}

rte_mbuf* FragmentReassembler::add(rte_mbuf* m, uint64_t now_tsc, WorkerCounters& counters) {
  rte_mbuf* whole = nullptr;
  if (insert(m, now_tsc, counters, whole) == Insert::no_slot) {
    // The table is full: drop the datagrams that have waited longest, as Linux's fragment
    // evictor does, and try once more. A flood of fragments that never complete then holds the
    // table for kMinWaitUnderPressure instead of the whole timeout, and a datagram whose pieces
    // arrive together still finds room.
    --death_row_.cnt;  // `m`, which rte_ip_frag put there unchanged
    // All of them: one call stops when the death row (288 mbufs) might not hold the next
    // datagram's, and the buckets the new datagram hashes to may hold none of the first ones.
    uint32_t evicted = 0;
    do {
      free_dropped();
      rte_ip_frag_table_del_expired_entries(table_, &death_row_,
                                            now_tsc + max_cycles_ - min_wait_cycles_);
      evicted = death_row_.cnt;
      held_ -= evicted;
      count_drops(counters, DropReason::fragment_evicted, evicted);
    } while (evicted != 0);
    if (insert(m, now_tsc, counters, whole) == Insert::no_slot) {
      count_drops(counters, DropReason::fragment_no_slot, 1);
    }
  }
  if (whole == nullptr) return nullptr;
  held_ -= whole->nb_segs;
  ++counters.datagrams_reassembled;
  return whole;
}

FragmentReassembler::Insert FragmentReassembler::insert(rte_mbuf* m, uint64_t now_tsc,
                                                        WorkerCounters& counters,
                                                        rte_mbuf*& whole) {
  if (held_ >= max_fragments_) {
    counters.drop(DropReason::fragment_limit);
    rte_pktmbuf_free(m);
    return Insert::dropped;
  }
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  const bool ipv4 = ethertype_of(frame) == RTE_ETHER_TYPE_IPV4;
  m->l2_len = kEthernetHeader;
  // The pipeline checked the lengths; what follows the datagram is Ethernet padding, which
  // rte_ip_frag would take for data.
  uint32_t ip_length = 0;
  const uint32_t dropped_before = death_row_.cnt;
  ++held_;
  if (ipv4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(frame + kEthernetHeader);
    m->l3_len = rte_ipv4_hdr_len(ip);
    ip_length = rte_be_to_cpu_16(ip->total_length);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - kEthernetHeader - ip_length));
    whole = rte_ipv4_frag_reassemble_packet(table_, &death_row_, m, now_tsc, ip);
  } else {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(frame + kEthernetHeader);
    auto* fragment = reinterpret_cast<rte_ipv6_fragment_ext*>(ip + 1);
    m->l3_len = kIpv6Header + kIpv6FragmentHeader;
    ip_length = kIpv6Header + rte_be_to_cpu_16(ip->payload_len);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - kEthernetHeader - ip_length));
    const uint32_t id = fragment->id;
    whole = rte_ipv6_frag_reassemble_packet(table_, &death_row_, m, now_tsc, ip, fragment);
    if (whole != nullptr) ipv6_id_ = id;
  }
  const uint32_t dropped = death_row_.cnt - dropped_before;
  held_ -= dropped;
  // rte_ip_frag drops the fragment alone when it finds no entry for a new datagram (table or
  // bucket full), and every fragment of the datagram with it when they disagree (a repeated
  // first or last fragment, an overlap, more than RTE_LIBRTE_IP_FRAG_MAX_FRAG pieces, a hole).
  if (dropped == 1 && death_row_.row[death_row_.cnt - 1] == m) return Insert::no_slot;
  if (dropped > 0) {
    count_drops(counters, DropReason::fragment_invalid, dropped);
    return Insert::dropped;
  }
  return Insert::taken;
}

std::span<uint8_t> FragmentReassembler::load(rte_mbuf* datagram, uint16_t& length,
                                             WorkerCounters& counters) {
  if (datagram->pkt_len > 65535) {
    count_drops(counters, DropReason::fragment_oversized, datagram->nb_segs);
    rte_pktmbuf_free(datagram);
    return {};
  }
  length = static_cast<uint16_t>(datagram->pkt_len);
  uint8_t* out = scratch_.data();
  for (const rte_mbuf* seg = datagram; seg != nullptr; seg = seg->next) {
    std::memcpy(out, rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len);
    out += seg->data_len;
  }
  if (ethertype_of(scratch_.data()) == RTE_ETHER_TYPE_IPV4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(scratch_.data() + kEthernetHeader);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  return std::span<uint8_t>(scratch_);
}

uint16_t FragmentReassembler::split(rte_mbuf* datagram, uint16_t length, uint16_t mtu,
                                    rte_mbuf** out, WorkerCounters& counters) {
  const uint8_t* frame = scratch_.data();
  const uint32_t data_room = rte_pktmbuf_data_room_size(direct_) - RTE_PKTMBUF_HEADROOM;
  // What fits the port as it is goes as one frame.
  if (length <= uint32_t{mtu} + kEthernetHeader && length <= data_room) {
    rte_mbuf* single = rte_pktmbuf_alloc(direct_);
    if (single == nullptr) {
      count_drops(counters, DropReason::fragment_split_failed, 1);
      rte_pktmbuf_free(datagram);
      return 0;
    }
    std::memcpy(rte_pktmbuf_append(single, length), frame, length);
    rte_pktmbuf_free(datagram);
    out[0] = single;
    return 1;
  }
  // The pipeline rewrote headers only (a reply of this size is not built): put its version of
  // the first segment back, then split the datagram as it now is.
  if (length != datagram->pkt_len) {
    count_drops(counters, DropReason::fragment_split_failed, 1);
    rte_pktmbuf_free(datagram);
    return 0;
  }
  std::memcpy(rte_pktmbuf_mtod(datagram, uint8_t*), frame, datagram->data_len);
  const bool ipv4 = ethertype_of(frame) == RTE_ETHER_TYPE_IPV4;
  rte_pktmbuf_adj(datagram, kEthernetHeader);
  const int32_t n =
      ipv4 ? rte_ipv4_fragment_packet(datagram, out, kMaxFragmentsOut, mtu, direct_, indirect_)
           : rte_ipv6_fragment_packet(datagram, out, kMaxFragmentsOut, mtu, direct_, indirect_);
  rte_pktmbuf_free(datagram);  // the fragments hold their own references to its data
  if (n <= 0) {
    count_drops(counters, DropReason::fragment_split_failed, 1);
    return 0;
  }
  uint16_t made = 0;
  for (int32_t i = 0; i < n; ++i) {
    rte_mbuf* f = out[i];
    auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(f, kEthernetHeader));
    // One segment per frame: not every driver sends chained mbufs (net_af_xdp sends the first).
    if (eth == nullptr || rte_pktmbuf_linearize(f) != 0) {
      count_drops(counters, DropReason::fragment_split_failed, 1);
      rte_pktmbuf_free(f);
      continue;
    }
    std::memcpy(eth, frame, kEthernetHeader);
    if (ipv4) {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + kEthernetHeader);
      ip->hdr_checksum = 0;
      ip->hdr_checksum = rte_ipv4_cksum(ip);
    } else {
      auto* fragment =
          reinterpret_cast<rte_ipv6_fragment_ext*>(eth + kEthernetHeader + kIpv6Header);
      fragment->id = ipv6_id_;
    }
    f->ol_flags = 0;
    out[made++] = f;
  }
  counters.fragments_sent += made;
  return made;
}

void FragmentReassembler::expire(uint64_t now_tsc, WorkerCounters& counters) {
  const uint32_t before = death_row_.cnt;
  rte_ip_frag_table_del_expired_entries(table_, &death_row_, now_tsc);
  const uint32_t expired = death_row_.cnt - before;
  held_ -= expired;
  count_drops(counters, DropReason::fragment_timeout, expired);
}

void FragmentReassembler::free_dropped() {
  if (death_row_.cnt != 0) rte_ip_frag_free_death_row(&death_row_, 3);
}

}  // namespace fairway
