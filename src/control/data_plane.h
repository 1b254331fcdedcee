#pragma once
// All the control core knows of the switching processors: it publishes snapshots to them, reads
// their counters, and asks whether flows match a filter. fairwayd implements it over DPDK lcores
// (dataplane/worker_fleet.h); the control core's unit tests implement it with a fake.
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "control/snapshot_builder.h"
#include "pipeline/counters.h"
#include "pipeline/flow_census.h"
#include "pipeline/flow_query.h"
#include "pipeline/snapshot.h"

namespace fairway {

// One worker as the control core sees it: plain copies, read without stopping the worker.
struct WorkerState {
  uint32_t index = 0;
  unsigned lcore = 0;
  uint64_t snapshot_version = 0;  // the version it acknowledged running
  uint64_t flows = 0;             // flow-table entries in use
  uint64_t half_open = 0;         // of which have seen only a SYN
  bool under_pressure = false;    // half-open flows are evicted first
  bool syn_proxy_engaged = false;  // `syn_proxy: under_pressure` services answer with cookies
  double load = 0;                // share of the last second spent on bursts with packets
  WorkerCounters counters;
};

class DataPlane {
 public:
  virtual ~DataPlane() = default;

  // Makes `next` (its version set from next_version()) the snapshot every worker runs and frees
  // the previous one once no worker can read it. Returns the nanoseconds from the switch until
  // every worker had acknowledged it.
  virtual uint64_t publish(std::unique_ptr<Snapshot> next) = 0;
  virtual uint64_t next_version() = 0;
  // The snapshot published last (never null after the first publish()).
  virtual const Snapshot* running() const = 0;
  // The ports as started: what snapshots are built for.
  virtual std::vector<RuntimePort> ports() const = 0;

  virtual std::vector<WorkerState> workers() const = 0;
  // Per-service events and per-back-end traffic by stats slot, summed over the workers.
  virtual ServiceEvents service_events(uint32_t slot) const = 0;
  virtual BackendTraffic backend_traffic(uint32_t slot) const = 0;
  // Active and inactive flows by back-end slot, summed over the workers' last census.
  virtual FlowCounts backend_flows(uint32_t slot) const = 0;

  // Lists (up to `limit`; 0 counts only) and counts the flows matching `filter` on every worker.
  // Blocks up to `timeout`: call it without holding the control core's lock. Thread-safe.
  virtual FlowListing query_flows(const FlowFilter& filter, size_t limit,
                                  std::chrono::milliseconds timeout) = 0;
};

}  // namespace fairway
