#include "dataplane/worker.h"

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <chrono>

#include "pipeline/pipeline.h"

namespace fairway {
namespace {

rte_eth_dev_tx_buffer* make_tx_buffer(uint64_t* drop_counter) {
  auto* buffer = static_cast<rte_eth_dev_tx_buffer*>(
      rte_zmalloc("fairway_tx", RTE_ETH_TX_BUFFER_SIZE(kBurstSize), RTE_CACHE_LINE_SIZE));
  if (buffer == nullptr) return nullptr;
  rte_eth_tx_buffer_init(buffer, kBurstSize);
  rte_eth_tx_buffer_set_err_callback(buffer, rte_eth_tx_buffer_count_callback, drop_counter);
  return buffer;
}

DropReason kernel_queue_full(KernelPriority priority) {
  switch (priority) {
    case KernelPriority::neighbor:
      return DropReason::kernel_queue_full_neighbor;
    case KernelPriority::control:
      return DropReason::kernel_queue_full_control;
    case KernelPriority::icmp:
      return DropReason::kernel_queue_full_icmp;
    case KernelPriority::other:
      break;
  }
  return DropReason::kernel_queue_full_other;
}

uint64_t& tx_full_counter(WorkerContext& ctx) {
  return ctx.counters.drops[static_cast<size_t>(DropReason::tx_full)];
}

void send(WorkerContext& ctx, const Decision& d, rte_mbuf* m) {
  if (d.verdict == Verdict::forward) {
    ++ctx.counters.tx_packets;
    const WorkerPort& out = ctx.ports[d.port];
    rte_eth_tx_buffer(out.data_port, out.data_queue, ctx.data_tx[d.port], m);
  } else {
    rte_ring* queue = ctx.ports[d.port].to_kernel[static_cast<size_t>(d.priority)];
    if (queue == nullptr || rte_ring_sp_enqueue(queue, m) != 0) {
      ctx.counters.drop(kernel_queue_full(d.priority));
      rte_pktmbuf_free(m);
    }
  }
}

// A fragment the pipeline said to reassemble. When it completes its datagram, the datagram is
// decided whole, like any packet, and split again for the port it leaves by.
void run_fragment(WorkerContext& ctx, const Snapshot& snap, uint16_t port_index, rte_mbuf* m,
                  PipelineContext& pipeline) {
  FragmentReassembler& fragments = *ctx.fragments;
  rte_mbuf* whole = fragments.add(m, rte_rdtsc(), ctx.counters);
  if (whole == nullptr) return;
  uint16_t length = 0;
  std::span<uint8_t> frame = fragments.load(whole, length, ctx.counters);
  if (frame.empty()) return;
  const Decision d = process_frame(snap, pipeline, port_index, frame, length);
  if (d.verdict != Verdict::forward && d.verdict != Verdict::to_kernel) {
    rte_pktmbuf_free(whole);
    return;
  }
  rte_mbuf* out[kMaxFragmentsOut];
  const uint16_t n = fragments.split(whole, d.length, ctx.ports[d.port].mtu, out, ctx.counters);
  for (uint16_t i = 0; i < n; ++i) send(ctx, d, out[i]);
}

void run_data_burst(WorkerContext& ctx, const Snapshot& snap, uint16_t port_index,
                    rte_mbuf** packets, uint16_t count, PipelineContext& pipeline) {
  FrameRef frames[kBurstSize];
  Decision decisions[kBurstSize];
  rte_mbuf* to_reassemble[kBurstSize];
  uint16_t fragment_count = 0;
  uint16_t accepted = 0;
  for (uint16_t i = 0; i < count; ++i) {
    rte_mbuf* m = packets[i];
    if (m->nb_segs != 1) {
      ctx.counters.drop(DropReason::multi_segment_mbuf);
      rte_pktmbuf_free(m);
      continue;
    }
    uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
    size_t room = m->data_len + rte_pktmbuf_tailroom(m);
    packets[accepted++] = m;
    // GOOD only: BAD (or no verdict) leaves the check, and the drop reason, to the parser.
    frames[accepted - 1] =
        FrameRef{std::span<uint8_t>(data, room), m->data_len,
                 (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD};
  }
  process_burst(snap, pipeline, port_index, std::span<const FrameRef>(frames, accepted), decisions);
  for (uint16_t i = 0; i < accepted; ++i) {
    rte_mbuf* m = packets[i];
    const Decision& d = decisions[i];
    if (d.verdict == Verdict::forward) {
      m->data_len = d.length;
      m->pkt_len = d.length;
      m->ol_flags = 0;
      ++ctx.counters.tx_packets;
      const WorkerPort& out = ctx.ports[d.port];
      rte_eth_tx_buffer(out.data_port, out.data_queue, ctx.data_tx[d.port], m);
    } else if (d.verdict == Verdict::to_kernel) {
      send(ctx, d, m);
    } else if (d.verdict == Verdict::reassemble) [[unlikely]] {
      to_reassemble[fragment_count++] = m;
    } else {
      rte_pktmbuf_free(m);
    }
  }
  // After the burst's own frames: a whole datagram is decided against the flow table as the
  // burst left it.
  if (fragment_count == 0) return;
  for (uint16_t i = 0; i < fragment_count; ++i) {
    run_fragment(ctx, snap, port_index, to_reassemble[i], pipeline);
  }
  ctx.fragments->free_dropped();
}

// What the kernel sends through a TAP leaves through that TAP's data port, unchanged.
// Whether the worker may sleep now: nothing owed to the control core (a flow query) or to its
// own table (sweep and census steps a long sleep left behind).
bool may_sleep(const WorkerContext& ctx) {
  return ctx.flow_query.state() < FlowQuery::State::requested && !ctx.flows->sweep_behind() &&
         !ctx.census.behind() && (ctx.sync_inbox == nullptr || ctx.sync_inbox->empty());
}

// flow_sync: adopts a bounded number of other nodes' flows per iteration.
void adopt_synced_flows(WorkerContext& ctx, const Snapshot& snap, uint64_t now_ms) {
  FlowSyncRecord records[kBurstSize];
  const size_t n = ctx.sync_inbox->pop(records);
  for (size_t i = 0; i < n; ++i) {
    if (ctx.flows->adopt(records[i], now_ms, snap.timeouts)) ++ctx.counters.flows_adopted;
  }
}

// Offline, the worker holds no snapshot: publication does not wait for it, and the doorbell
// wakes it to acknowledge the new version.
void sleep_until_traffic(WorkerContext& ctx) {
  ctx.publisher->offline(ctx.index);
  ctx.sleep.sleep();
  ctx.publisher->online(ctx.index);
  ++ctx.counters.idle_sleeps;
}

void run_kernel_burst(WorkerContext& ctx, uint16_t port_index, rte_mbuf** packets, uint16_t count) {
  const WorkerPort& out = ctx.ports[port_index];
  ctx.counters.from_kernel += count;
  ctx.counters.tx_packets += count;
  for (uint16_t i = 0; i < count; ++i) {
    rte_eth_tx_buffer(out.data_port, out.data_queue, ctx.data_tx[port_index], packets[i]);
  }
}

// The size whole datagrams are split to for a port: its MTU, within what one mbuf holds.
uint16_t split_mtu(uint16_t port) {
  uint16_t mtu = RTE_ETHER_MTU;
  if (rte_eth_dev_get_mtu(port, &mtu) != 0) mtu = RTE_ETHER_MTU;
  constexpr uint16_t kFrameRoom = RTE_MBUF_DEFAULT_DATAROOM - RTE_ETHER_HDR_LEN;
  return std::min(mtu, kFrameRoom);
}

}  // namespace

std::vector<WorkerPort> worker_ports(const std::vector<PortRuntime>& ports,
                                     const ExceptionPath& exception_path, uint32_t index) {
  std::vector<WorkerPort> out;
  for (size_t i = 0; i < ports.size(); ++i) {
    const PortRuntime& p = ports[i];
    out.push_back(WorkerPort{p.data_port_of(index), p.data_queue_of(index), p.tap_port_id,
                             static_cast<uint16_t>(index), p.exception_path,
                             exception_path.queues(index, i), p.data_wake_fd_of(index),
                             p.tap_wake_fd_of(index), split_mtu(p.data_port_of(index))});
  }
  return out;
}

bool prepare_worker(WorkerContext& ctx, std::string& error) {
  for (size_t i = 0; i < ctx.ports.size(); ++i) {
    ctx.data_tx.push_back(make_tx_buffer(&tx_full_counter(ctx)));
    if (ctx.data_tx.back() == nullptr) {
      error = "cannot allocate TX buffers";
      return false;
    }
  }
  if (!ctx.polling.adaptive) return true;
  std::vector<int> queue_fds;
  for (const WorkerPort& port : ctx.ports) {
    queue_fds.push_back(port.data_wake_fd);
    if (port.exception_path) queue_fds.push_back(port.tap_wake_fd);
  }
  return ctx.sleep.init(queue_fds, error);
}

void release_worker(WorkerContext& ctx) {
  for (auto* b : ctx.data_tx) rte_free(b);
  ctx.data_tx.clear();
  ctx.fragments.reset();  // gives the fragments it holds back to the pool
}

int worker_main(void* arg) {
  WorkerContext& ctx = *static_cast<WorkerContext*>(arg);
  const uint64_t cycles_per_ms = rte_get_tsc_hz() / 1000;
  const uint16_t port_count = static_cast<uint16_t>(ctx.ports.size());
  const uint64_t idle_cycles = cycles_per_ms * ctx.polling.idle_ms;
  uint64_t last_traffic = rte_rdtsc();
  rte_mbuf* packets[kBurstSize];
  ctx.publisher->register_worker(ctx.index);
  PipelineContext pipeline{*ctx.flows, ctx.counters, 0, &ctx.backend_counters,
                           &ctx.service_counters};
  // The SYN cookies' clock is the wall clock; reading it per burst would be a call each.
  const int64_t wall_offset_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count() -
                                 static_cast<int64_t>(rte_rdtsc() / cycles_per_ms);

  while (!ctx.stop->load(std::memory_order_relaxed)) {
    const uint64_t start = rte_rdtsc();
    const Snapshot& snap = *ctx.publisher->current();
    ctx.running_version.store(snap.version, std::memory_order_relaxed);
    pipeline.now_ms = start / cycles_per_ms;
    pipeline.wall_seconds =
        static_cast<uint64_t>(static_cast<int64_t>(pipeline.now_ms) + wall_offset_ms) / 1000;
    uint32_t received = 0;
    for (uint16_t p = 0; p < port_count; ++p) {
      const WorkerPort& port = ctx.ports[p];
      uint16_t n = rte_eth_rx_burst(port.data_port, port.data_queue, packets, kBurstSize);
      received += n;
      ctx.counters.rx_packets += n;
      run_data_burst(ctx, snap, p, packets, n, pipeline);
      if (!port.exception_path) continue;
      n = rte_eth_rx_burst(port.tap_port, port.tap_queue, packets, kBurstSize);
      received += n;
      run_kernel_burst(ctx, p, packets, n);
    }
    for (uint16_t p = 0; p < port_count; ++p) {
      const WorkerPort& port = ctx.ports[p];
      rte_eth_tx_buffer_flush(port.data_port, port.data_queue, ctx.data_tx[p]);
    }
    if (ctx.sync_inbox != nullptr) adopt_synced_flows(ctx, snap, pipeline.now_ms);
    ctx.flows->expire_due(pipeline.now_ms);
    if (ctx.fragments != nullptr) {
      ctx.fragments->expire(start, ctx.counters);
      ctx.fragments->free_dropped();
    }
    ctx.census.step(*ctx.flows, snap, pipeline.now_ms);
    ctx.flow_query.poll(*ctx.flows, pipeline.now_ms);
    ctx.flow_count.store(ctx.flows->size(), std::memory_order_relaxed);
    ctx.half_open.store(ctx.flows->half_open(), std::memory_order_relaxed);
    ctx.under_pressure.store(ctx.flows->under_pressure(pipeline.now_ms), std::memory_order_relaxed);
    ctx.syn_proxy_engaged.store(pipeline.syn_proxy.active(pipeline.now_ms),
                                std::memory_order_relaxed);
    ctx.publisher->quiescent(ctx.index);
    if (received != 0) {
      ++ctx.counters.busy_iterations;
      ctx.counters.busy_cycles += rte_rdtsc() - start;
      last_traffic = start;
    } else if (ctx.polling.adaptive && start - last_traffic >= idle_cycles && may_sleep(ctx)) {
      sleep_until_traffic(ctx);
    }
  }
  ctx.publisher->unregister_worker(ctx.index);
  return 0;
}

}  // namespace fairway
