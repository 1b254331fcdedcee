#include "dataplane/worker_fleet.h"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>

#include "dataplane/flow_query_runner.h"

namespace fairway {
namespace {
// Per worker and direction: a few seconds of new flows at the sync thread's pace (10 ms).
constexpr size_t kSyncRingSize = 16384;
}  // namespace

bool WorkerFleet::init(uint32_t workers, std::string& error) {
  return publisher_.init(workers, error);
}

bool WorkerFleet::launch(uint32_t workers, uint32_t flow_capacity, WorkerPolling polling,
                         bool flow_sync, const FragmentSetup& fragments, std::string& error) {
  polling_ = polling;
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  for (uint32_t w = 0; w < workers; ++w, lcore = rte_get_next_lcore(lcore, 1, 0)) {
    if (lcore >= RTE_MAX_LCORE) {
      error =
          "not enough worker lcores for " + std::to_string(workers) + " workers (check eal.lcores)";
      return false;
    }
    auto ctx = std::make_unique<WorkerContext>();
    ctx->index = w;
    ctx->lcore = lcore;
    ctx->ports = worker_ports(ports_.ports(), exception_path_, w);
    ctx->publisher = &publisher_;
    ctx->stop = &stop_;
    ctx->polling = polling_;
    ctx->flows = std::make_unique<FlowTable>(flow_capacity);
    if (flow_sync) {
      ctx->sync_journal = std::make_unique<FlowSyncRing>(kSyncRingSize);
      ctx->sync_inbox = std::make_unique<FlowSyncRing>(kSyncRingSize);
      ctx->flows->set_sync_journal(ctx->sync_journal.get());
    }
    if (fragments.config.enabled()) {
      ctx->fragments = std::make_unique<FragmentReassembler>();
      if (!ctx->fragments->init(fragments.config, fragments.direct, fragments.indirect,
                                static_cast<int>(rte_lcore_to_socket_id(lcore)), error)) {
        return false;
      }
    }
    if (!prepare_worker(*ctx, error)) return false;
    workers_.push_back(std::move(ctx));
  }
  load_.resize(workers_.size());
  for (auto& ctx : workers_) {
    if (rte_eal_remote_launch(worker_main, ctx.get(), ctx->lcore) != 0) {
      error = "cannot launch worker on lcore " + std::to_string(ctx->lcore);
      stop();
      return false;
    }
  }
  running_ = true;
  return true;
}

void WorkerFleet::stop() {
  stop_.store(true);
  rte_eal_mp_wait_lcore();
  running_ = false;
}

void WorkerFleet::release() {
  for (auto& w : workers_) release_worker(*w);
}

void WorkerFleet::sample_load() {
  uint64_t now = rte_get_tsc_cycles();
  for (size_t i = 0; i < workers_.size(); ++i) {
    LoadSample& sample = load_[i];
    uint64_t busy = workers_[i]->counters.busy_cycles;
    if (sample.tsc != 0 && now > sample.tsc) {
      sample.load = std::min(1.0, static_cast<double>(busy - sample.busy_cycles) /
                                      static_cast<double>(now - sample.tsc));
    }
    sample.busy_cycles = busy;
    sample.tsc = now;
  }
}

uint64_t WorkerFleet::total_rx() const {
  uint64_t rx = 0;
  for (const auto& w : workers_) rx += w->counters.rx_packets;
  return rx;
}

std::vector<WorkerContext*> WorkerFleet::contexts() const {
  std::vector<WorkerContext*> out;
  for (const auto& w : workers_) out.push_back(w.get());
  return out;
}

uint64_t WorkerFleet::publish(std::unique_ptr<Snapshot> next) {
  const uint64_t waited = publisher_.publish(std::move(next));
  wake_sleepers();
  return waited;
}

void WorkerFleet::wake_sleepers() {
  if (!polling_.adaptive) return;
  for (auto& w : workers_) w->sleep.ring();
}

std::vector<WorkerState> WorkerFleet::workers() const {
  std::vector<WorkerState> out;
  for (size_t i = 0; i < workers_.size(); ++i) {
    const WorkerContext& w = *workers_[i];
    out.push_back({w.index, w.lcore, w.running_version.load(std::memory_order_relaxed),
                   w.flow_count.load(std::memory_order_relaxed),
                   w.half_open.load(std::memory_order_relaxed),
                   w.under_pressure.load(std::memory_order_relaxed),
                   w.syn_proxy_engaged.load(std::memory_order_relaxed), load_[i].load, w.counters});
  }
  return out;
}

ServiceEvents WorkerFleet::service_events(uint32_t slot) const {
  ServiceEvents sum;
  for (const auto& w : workers_) sum += w->service_counters.get(slot);
  return sum;
}

BackendTraffic WorkerFleet::backend_traffic(uint32_t slot) const {
  BackendTraffic sum;
  for (const auto& w : workers_) sum += w->backend_counters.get(slot);
  return sum;
}

FlowCounts WorkerFleet::backend_flows(uint32_t slot) const {
  FlowCounts sum;
  for (const auto& w : workers_) sum += w->census.published(slot);
  return sum;
}

FlowListing WorkerFleet::query_flows(const FlowFilter& filter, size_t limit,
                                     std::chrono::milliseconds timeout) {
  return fairway::query_flows(contexts(), filter, limit, timeout, [this] { wake_sleepers(); });
}

}  // namespace fairway

namespace fairway {

size_t WorkerFleet::take_journaled(std::span<FlowSyncRecord> out) {
  size_t taken = 0;
  for (size_t i = 0; i < workers_.size() && taken < out.size(); ++i) {
    WorkerContext& w = *workers_[(next_journal_ + i) % workers_.size()];
    if (w.sync_journal) taken += w.sync_journal->pop(out.subspan(taken));
  }
  next_journal_ = workers_.empty() ? 0 : (next_journal_ + 1) % workers_.size();
  return taken;
}

size_t WorkerFleet::install(std::span<const FlowSyncRecord> records) {
  size_t full = 0;
  for (auto& w : workers_) {
    if (!w->sync_inbox) continue;
    for (const FlowSyncRecord& r : records) full += w->sync_inbox->push(r) ? 0 : 1;
  }
  wake_sleepers();
  return full;
}

std::vector<FlowSyncRecord> WorkerFleet::table(size_t limit) {
  FlowListing listing = query_flows(FlowFilter{}, limit, std::chrono::milliseconds(2000));
  std::vector<FlowSyncRecord> out;
  for (const FlowRecord& r : listing.flows) {
    const bool established = r.value.tcp_state == TcpFlowState::established;
    if (r.key.protocol == kProtoTcp && !established) continue;
    // Proxied flows have this node's sequence offsets; adopted ones are their node's to send.
    if (r.value.flags & (kFlowProxied | kFlowAdopted)) continue;
    out.push_back(FlowSyncRecord{r.key, r.value.backend, r.value.backend_port, established});
  }
  return out;
}

uint64_t WorkerFleet::journal_losses() const {
  uint64_t lost = 0;
  for (const auto& w : workers_) lost += w->flows->sync_journal_full();
  return lost;
}

}  // namespace fairway
