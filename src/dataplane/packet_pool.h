#pragma once
// The mbuf pool every port receives into.
#include <string>

struct rte_mempool;

namespace fairway {

// Creates a pool of `count` mbufs of the default data room, objects packed back to back.
// Packed on purpose: net_af_xdp (DPDK 22.11) registers the pool as its UMEM and sizes that region
// as count × object size from the first object, assuming a packed pool. rte_pktmbuf_pool_create
// keeps objects from crossing 4 KiB pages when hugepages are off, which spreads them over more
// memory than that, and the kernel then rejects transmits from the uncovered tail
// (lab/AFXDP-NOTES.md, "Several workers on one veth").
rte_mempool* create_packet_pool(const char* name, unsigned count, int socket, std::string& error);

}  // namespace fairway
