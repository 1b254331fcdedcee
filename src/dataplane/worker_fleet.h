#pragma once
// The switching processors as the control core's DataPlane: the snapshot publisher, one
// WorkerContext per worker lcore, their counters and flow queries.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "control/data_plane.h"
#include "control/flow_sync.h"
#include "dataplane/exception_path.h"
#include "dataplane/ports.h"
#include "dataplane/publisher.h"
#include "dataplane/worker.h"

namespace fairway {

// What the workers reassemble fragments with (dataplane/fragment_reassembler.h).
struct FragmentSetup {
  FragmentConfig config;
  rte_mempool* direct = nullptr;    // the packet pool
  rte_mempool* indirect = nullptr;  // data-less mbufs for splitting
};

class WorkerFleet final : public DataPlane, public FlowSyncWorkers {
 public:
  WorkerFleet(const Ports& ports, const ExceptionPath& exception_path)
      : ports_(ports), exception_path_(exception_path) {}

  // Before the first publish(): the publisher's quiescence state for `workers` workers.
  bool init(uint32_t workers, std::string& error);
  // Prepares one worker per worker lcore, each with a flow table of `flow_capacity`, and
  // launches them on the running snapshot.
  // With `flow_sync`, each worker journals its flows and adopts other nodes' (FlowSyncWorkers).
  // With `fragments.config` enabled, each worker reassembles fragments to services.
  bool launch(uint32_t workers, uint32_t flow_capacity, WorkerPolling polling, bool flow_sync,
              const FragmentSetup& fragments, std::string& error);
  void stop();
  void release();
  bool launched() const { return running_; }

  // Once a second: each worker's share of the last second spent on bursts with packets.
  void sample_load();
  uint64_t total_rx() const;
  std::vector<WorkerContext*> contexts() const;

  uint64_t publish(std::unique_ptr<Snapshot> next) override;
  // workers_poll: adaptive: wake every sleeping worker (it acknowledges the running snapshot
  // and serves flow queries, then sleeps again).
  void wake_sleepers();
  uint64_t next_version() override { return publisher_.next_version(); }
  const Snapshot* running() const override { return publisher_.current(); }
  std::vector<RuntimePort> ports() const override { return ports_.runtime_ports(); }
  std::vector<WorkerState> workers() const override;
  ServiceEvents service_events(uint32_t slot) const override;
  BackendTraffic backend_traffic(uint32_t slot) const override;
  FlowCounts backend_flows(uint32_t slot) const override;
  FlowListing query_flows(const FlowFilter& filter, size_t limit,
                          std::chrono::milliseconds timeout) override;

  // FlowSyncWorkers
  size_t take_journaled(std::span<FlowSyncRecord> out) override;
  size_t install(std::span<const FlowSyncRecord> records) override;
  std::vector<FlowSyncRecord> table(size_t limit) override;
  uint64_t journal_losses() const override;

 private:
  const Ports& ports_;
  const ExceptionPath& exception_path_;
  WorkerPolling polling_;
  SnapshotPublisher publisher_;
  std::vector<std::unique_ptr<WorkerContext>> workers_;
  struct LoadSample {
    uint64_t busy_cycles = 0;
    uint64_t tsc = 0;
    double load = 0;
  };
  std::vector<LoadSample> load_;  // by worker
  size_t next_journal_ = 0;       // take_journaled() starts here: every worker gets its turn
  std::atomic<bool> stop_{false};
  bool running_ = false;
};

}  // namespace fairway
