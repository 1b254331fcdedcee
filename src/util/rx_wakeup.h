#pragma once
// What lets an idle worker sleep until its RX queues have packets (workers_poll: adaptive):
// a file descriptor per queue that poll() reports readable when the queue has packets.
//
// - net_tap: DPDK's RX interrupt of the queue (intr_conf.rxq), which is the queue's TAP fd.
// - net_af_xdp: the queue's AF_XDP socket (readable when its RX ring is not empty). DPDK does
//   not hand it out; the socket a queue's setup created is found by comparing this process's
//   AF_XDP sockets before and after the setup.
// - anything else: no descriptor; the worker then naps instead of sleeping (WorkerSleep).
#include <cstdint>
#include <set>
#include <string>

namespace fairway {

// The descriptors of this process's AF_XDP sockets.
std::set<int> af_xdp_sockets();

// The one AF_XDP socket in `after` that is not in `before`, or -1.
int new_socket(const std::set<int>& before, const std::set<int>& after);

// The DPDK driver name of a device argument string ("net_af_xdp0,iface=x" -> true).
bool is_af_xdp_device(const std::string& device_args);
bool is_tap_device(const std::string& device_args);

}  // namespace fairway
