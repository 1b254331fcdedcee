// The per-packet pipeline without DPDK: process_frame over prebuilt 64-byte frames, one worker's
// flow table, a snapshot built from a real configuration. Isolates the pipeline's own cost from
// the PMDs' (bench/pipeline_bench.py measures the whole worker against testpmd).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "../tests/unit/packet/frame_builder.h"
#include "control/config.h"
#include "control/snapshot_builder.h"
#include "pipeline/flow_census.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

constexpr const char* kConfig = R"(
flow_table:
  capacity: 2097152
  timeouts: { tcp_syn: 100ms }
ports:
  - { name: client, device: net_null0, mac: "02:00:00:00:00:01", addresses: [198.18.0.1/24], exception_path: false }
  - { name: server, device: net_null1, mac: "02:00:00:00:01:01", addresses: [198.18.1.1/24], exception_path: false }
neighbors:
  - { address: 198.18.1.11, mac: "02:00:00:00:01:0b", port: server }
  - { address: 198.18.1.12, mac: "02:00:00:00:01:0c", port: server }
  - { address: 198.18.1.13, mac: "02:00:00:00:01:0d", port: server }
  - { address: 198.18.0.254, mac: "02:00:00:00:00:fe", port: client }
routes:
  - { prefix: 0.0.0.0/0, via: 198.18.0.254, port: client }
services:
  - { name: web-dsr, vip: 198.18.100.1, port: 80, protocol: tcp, mode: dsr,
      backends: [ {address: 198.18.1.11}, {address: 198.18.1.12, weight: 2}, {address: 198.18.1.13, weight: 3} ] }
  - { name: web-nat, vip: 198.18.100.2, port: 80, protocol: tcp, mode: nat,
      backends: [ {address: 198.18.1.11, port: 8080}, {address: 198.18.1.12, port: 8080}, {address: 198.18.1.13, port: 8080} ] }
  - { name: web-proxy, vip: 198.18.100.3, port: 80, protocol: tcp, mode: nat, syn_proxy: always,
      backends: [ {address: 198.18.1.11, port: 8081}, {address: 198.18.1.12, port: 8081}, {address: 198.18.1.13, port: 8081} ] }
)";

struct Workload {
  std::unique_ptr<Snapshot> snapshot;
  std::vector<test::Bytes> frames;
};

// One frame per flow: clients spread over 198.18.64.0/18 and source ports.
Workload make_workload(size_t flows, const char* vip, uint8_t tcp_flags) {
  ConfigResult loaded = load_config_string(kConfig, "bench.yaml");
  if (!loaded) {
    std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
    std::abort();
  }
  std::vector<RuntimePort> ports = {{"client", *MacAddress::parse("02:00:00:00:00:01"), false, 0},
                                    {"server", *MacAddress::parse("02:00:00:00:01:01"), false, 0}};
  // Counter slots for every service and back-end, as fairwayd gives them: the benchmark counts
  // what the daemon counts.
  RuntimeState runtime;
  uint32_t slot = 0;
  for (const ServiceConfig& s : loaded->services) {
    runtime.service_stats_slots[s.name] = slot++;
    for (const BackendConfig& b : s.backends) {
      runtime.stats_slots[BackendId::of(s.name, b)] = slot++;
    }
  }
  Workload w{build_snapshot(*loaded, ports, {}, 1, runtime), {}};
  for (size_t i = 0; i < flows; ++i) {
    test::FrameSpec spec;
    spec.src_mac = {2, 0, 0, 0, 0, 0xfe};
    spec.dst_mac = {2, 0, 0, 0, 0, 1};
    spec.src =
        "198.18." + std::to_string(64 + (i >> 16) % 64) + "." + std::to_string((i >> 8) & 0xff);
    spec.dst = vip;
    spec.src_port = static_cast<uint16_t>(1024 + (i & 0xff) * 211 % 60000);
    spec.tcp_flags = tcp_flags;
    spec.ack = (tcp_flags & kTcpAck) ? 1 : 0;
    spec.pad_to = 60;
    w.frames.push_back(test::build_frame(spec));
  }
  return w;
}

// `capacity` 0: twice the flows. `default_timeouts`: fairwayd's (30 s SYN, 3 s under pressure)
// instead of the configuration's 100 ms SYN timeout. `nic_checksum`: the frames come with the
// NIC's verdict that their IPv4 header checksum is right, as a real NIC's do (net_pcap's not).
void run(benchmark::State& state, const char* vip, uint8_t flags, uint64_t ms_per_pass,
         size_t capacity = 0, bool default_timeouts = false, bool nic_checksum = false) {
  const size_t flows = static_cast<size_t>(state.range(0));
  static std::map<std::tuple<size_t, std::string, uint8_t>, Workload> cache;
  auto key = std::make_tuple(flows, std::string(vip), flags);
  if (!cache.contains(key)) cache.emplace(key, make_workload(flows, vip, flags));
  Workload& w = cache.at(key);
  w.snapshot->timeouts.tcp_syn_ms = default_timeouts ? FlowTimeouts{}.tcp_syn_ms : 100;
  FlowTable table(capacity != 0 ? capacity : flows * 2);
  WorkerCounters counters;
  PipelineContext ctx{table, counters, 1'000};
  static BackendCounters backend_counters;
  static ServiceCounters service_counters;
  ctx.backend_counters = &backend_counters;
  ctx.service_counters = &service_counters;
  // Frames are copied into mbuf-like buffers a burst at a time, as a NIC would have written them.
  static uint8_t buffers[kMaxBurst][2048];
  FrameRef frames[kMaxBurst];
  Decision decisions[kMaxBurst];
  size_t next = 0;
  for (auto _ : state) {
    for (size_t b = 0; b < kMaxBurst; ++b) {
      const test::Bytes& frame = w.frames[next];
      std::memcpy(buffers[b], frame.data(), frame.size());
      frames[b] = FrameRef{buffers[b], static_cast<uint16_t>(frame.size()), nic_checksum};
      if (++next == w.frames.size()) {
        next = 0;
        ctx.now_ms += ms_per_pass;
      }
    }
    process_burst(*w.snapshot, ctx, 0, frames, decisions);
    benchmark::DoNotOptimize(decisions);
  }
  state.counters["untracked"] = static_cast<double>(counters.flows_untracked);
  state.counters["evicted"] = static_cast<double>(counters.flows_evicted_half_open);
  state.SetItemsProcessed(state.iterations() * kMaxBurst);
}

void BM_DsrEstablished(benchmark::State& s) {
  run(s, "198.18.100.1", kTcpAck, 1);
}
void BM_NatEstablished(benchmark::State& s) {
  run(s, "198.18.100.2", kTcpAck, 1);
}
// Each pass is 200 ms apart and SYN flows expire after 100 ms: every SYN creates a flow again.
void BM_SynNewFlow(benchmark::State& s) {
  run(s, "198.18.100.1", kTcpSyn, 200);
}

// The same with the NIC's IPv4 checksum verdict (FrameRef::ipv4_checksum_good).
void BM_DsrEstablishedNicChecksum(benchmark::State& s) {
  run(s, "198.18.100.1", kTcpAck, 1, 0, false, true);
}
void BM_NatEstablishedNicChecksum(benchmark::State& s) {
  run(s, "198.18.100.2", kTcpAck, 1, 0, false, true);
}
void BM_SynNewFlowNicChecksum(benchmark::State& s) {
  run(s, "198.18.100.1", kTcpSyn, 200, 0, false, true);
}

// A SYN flood: distinct tuples twice the table's capacity, default timeouts: the table is full
// and under pressure, every SYN misses and evicts a half-open entry. 2M tuples take ~200 ms a
// pass at 10 Mpps.
void BM_SynFlood(benchmark::State& s) {
  run(s, "198.18.100.1", kTcpSyn, 200, static_cast<size_t>(s.range(0)) / 2, true);
}

// The same flood at a nat service with syn_proxy: always: every SYN is answered with a cookie
// SYN-ACK, nothing is stored.
void BM_SynFloodCookies(benchmark::State& s) {
  run(s, "198.18.100.3", kTcpSyn, 200, static_cast<size_t>(s.range(0)) / 2, true);
}

// The workers' background flow census (pipeline/flow_census.h): one whole pass over a table of
// N established dsr flows (twice N slots), per flow. A worker spends (flows / kPeriodMs) times
// this per second on it.
void BM_FlowCensusPass(benchmark::State& state) {
  const size_t flows = static_cast<size_t>(state.range(0));
  Workload w = make_workload(flows, "198.18.100.1", kTcpSyn);
  FlowTable table(flows * 2);
  WorkerCounters counters;
  PipelineContext ctx{table, counters, 1'000};
  static uint8_t buffer[2048];
  for (const test::Bytes& frame : w.frames) {
    std::memcpy(buffer, frame.data(), frame.size());
    process_frame(*w.snapshot, ctx, 0, std::span<uint8_t>(buffer),
                  static_cast<uint16_t>(frame.size()));
  }
  static FlowCensus census;
  for (auto _ : state) census.count(table, *w.snapshot, ctx.now_ms, table.bucket_count());
  state.counters["counted"] = static_cast<double>(
      census.published(1).inactive + census.published(2).inactive + census.published(3).inactive);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(flows));
}

BENCHMARK(BM_SynFlood)->Arg(2000000);
BENCHMARK(BM_SynFloodCookies)->Arg(2000000);
BENCHMARK(BM_DsrEstablished)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_NatEstablished)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_SynNewFlow)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_DsrEstablishedNicChecksum)->Arg(1000);
BENCHMARK(BM_NatEstablishedNicChecksum)->Arg(1000);
BENCHMARK(BM_SynNewFlowNicChecksum)->Arg(1000);
BENCHMARK(BM_FlowCensusPass)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fairway

BENCHMARK_MAIN();
