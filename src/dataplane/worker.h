#pragma once
// A switching processor (patent Fig. 5, see docs/DESIGN.md): busy-polls its own RX queue of
// every port, runs each burst through the pipeline, and transmits on its own TX queue of the
// egress port.
#include <rte_ethdev.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/exception_path.h"
#include "dataplane/fragment_reassembler.h"
#include "dataplane/ports.h"
#include "dataplane/publisher.h"
#include "lb/flow_table.h"
#include "pipeline/counters.h"
#include "pipeline/flow_census.h"
#include "pipeline/flow_query.h"
#include "pipeline/pipeline.h"
#include "util/worker_sleep.h"

namespace fairway {

// One RX burst is one pipeline burst.
inline constexpr uint16_t kBurstSize = kMaxBurst;

// The queues one worker owns on one port: RX and TX on the data device, RX on the TAP (what the
// kernel sends), and its rings toward the kernel (the exception path's drainer writes the TAP).
struct WorkerPort {
  uint16_t data_port = 0;
  uint16_t data_queue = 0;
  uint16_t tap_port = 0;
  uint16_t tap_queue = 0;
  bool exception_path = false;
  KernelQueues to_kernel{};
  int data_wake_fd = -1;  // readable when the data queue has packets (-1: none)
  int tap_wake_fd = -1;   // readable when the TAP queue has packets (-1: none)
  uint16_t mtu = 1500;    // the data device's, capped by the mbufs' room: whole datagrams are
                          // split to this size
};

// Everything one worker owns: its queues, its flow table, its counters and TX buffers.
// Cache-aligned so two workers never share a line.
struct alignas(64) WorkerContext {
  uint32_t index = 0;  // 0-based worker number = queue id on every port
  unsigned lcore = 0;
  std::vector<WorkerPort> ports;  // by port index
  SnapshotPublisher* publisher = nullptr;
  const std::atomic<bool>* stop = nullptr;
  WorkerPolling polling;
  // workers_poll: adaptive: where the worker sleeps, and the doorbell that wakes it.
  WorkerSleep sleep;
  // flow_sync: the flows this worker made for the other nodes, and theirs for it to adopt.
  std::unique_ptr<FlowSyncRing> sync_journal;
  std::unique_ptr<FlowSyncRing> sync_inbox;
  std::unique_ptr<FlowTable> flows;
  // fragments: the datagrams this worker is reassembling (null: fragments to services dropped).
  std::unique_ptr<FragmentReassembler> fragments;
  std::vector<rte_eth_dev_tx_buffer*> data_tx;  // by port index
  WorkerCounters counters;
  alignas(64) std::atomic<uint64_t> running_version{0};  // acknowledged snapshot version
  std::atomic<uint64_t> flow_count{0};                   // published for the control core
  // The control core's flow listings and counts (query_flows()), answered once per iteration.
  FlowQuery flow_query;
  // New flows per back-end stats slot, read like `counters`.
  BackendCounters backend_counters;
  // Per-service events by service stats slot, read like `counters`.
  ServiceCounters service_counters;
  // Active and inactive flows per back-end slot, counted in the background.
  FlowCensus census;
  // The flow table's state for the control core: half-open entries and pressure.
  std::atomic<uint64_t> half_open{0};
  std::atomic<bool> under_pressure{false};
  std::atomic<bool> syn_proxy_engaged{false};  // `under_pressure` services answer with cookies
};

// The queues of worker `index` on every port.
std::vector<WorkerPort> worker_ports(const std::vector<PortRuntime>& ports,
                                     const ExceptionPath& exception_path, uint32_t index);

// Allocates the TX buffers of `ctx` on its socket and, for adaptive polling, what it sleeps
// on. Control core, before launch.
bool prepare_worker(WorkerContext& ctx, std::string& error);
void release_worker(WorkerContext& ctx);

// The lcore entry point; `arg` is a WorkerContext*.
int worker_main(void* arg);

}  // namespace fairway
