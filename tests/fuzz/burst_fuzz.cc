// libFuzzer target: process_burst against process_frame. The input is a run of frames; each is
// decided one at a time by process_frame in one world and in bursts by process_burst in another
// (each with its flow table, living across inputs as a worker's does; same snapshot and clock).
// The decisions, the frames that come out and the counters must be identical: a burst overlaps its
// frames' lookups (an entry prefetched before an earlier frame of the same burst inserted or erased
// the flow), and must never change an answer. The worlds are equal before every input, so the
// first input that tells them apart is the one reported.
//
// Input: a sequence of records [control][length][frame bytes]: control bit 0 = port (client or
// server), bit 1 = the burst ends after this frame, bits 2-7 = how far the clock moves before the
// burst; length is one byte (frames of up to 255 bytes; the record is cut at the input's end).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz_check.h"
#include "fuzz_snapshot.h"
#include "lb/flow_table.h"
#include "pipeline/pipeline.h"

using namespace fairway;

namespace {

constexpr size_t kRoom = 2048;

struct Arrival {
  std::vector<uint8_t> frame;
  uint16_t port = 0;
  bool ends_burst = false;
  uint64_t clock_step = 0;
};

std::vector<Arrival> read_arrivals(const uint8_t* data, size_t size) {
  std::vector<Arrival> out;
  size_t at = 0;
  while (at + 2 <= size) {
    const uint8_t control = data[at];
    const size_t length = std::min<size_t>(data[at + 1], size - at - 2);
    Arrival a;
    a.port = control & 1;
    a.ends_burst = control & 2;
    a.clock_step = static_cast<uint64_t>(control >> 2) * 997;
    a.frame.assign(data + at + 2, data + at + 2 + length);
    out.push_back(std::move(a));
    at += 2 + length;
  }
  return out;
}

struct World {
  FlowTable flows{fuzz_flow_capacity()};
  WorkerCounters counters;
  BackendCounters backend_counters;
  ServiceCounters service_counters;
  uint64_t now_ms = 1'000'000;
};

struct Run {
  std::vector<Decision> decisions;
  std::vector<std::vector<uint8_t>> frames;
};

const Snapshot& snapshot() {
  static const std::unique_ptr<Snapshot> snap = fuzz_snapshot();
  return *snap;
}

// The bursts: consecutive arrivals on one port, at most kMaxBurst, ended where a record says.
template <typename Decide>
Run run(World& world, const std::vector<Arrival>& arrivals, Decide decide) {
  Run r;
  PipelineContext ctx{world.flows, world.counters, world.now_ms};
  ctx.backend_counters = &world.backend_counters;
  ctx.service_counters = &world.service_counters;
  ctx.wall_seconds = 1'800'000'000;
  size_t next = 0;
  while (next < arrivals.size()) {
    const size_t first = next;
    ctx.now_ms += arrivals[first].clock_step;
    while (next < arrivals.size() && next - first < kMaxBurst &&
           arrivals[next].port == arrivals[first].port) {
      if (arrivals[next++].ends_burst) break;
    }
    std::vector<std::vector<uint8_t>> rooms;
    for (size_t i = first; i < next; ++i) {
      rooms.push_back(arrivals[i].frame);
      rooms.back().resize(kRoom);
    }
    Decision decisions[kMaxBurst];
    decide(ctx, arrivals[first].port, arrivals, first, rooms, decisions);
    for (size_t i = 0; i < rooms.size(); ++i) {
      r.decisions.push_back(decisions[i]);
      r.frames.emplace_back(rooms[i].begin(), rooms[i].begin() + decisions[i].length);
    }
  }
  world.now_ms = ctx.now_ms;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<Arrival> arrivals = read_arrivals(data, size);
  if (arrivals.empty()) return 0;
  const Snapshot& snap = snapshot();
  static World* one_at_a_time = new World;
  static World* in_bursts = new World;
  const Run single = run(*one_at_a_time, arrivals,
                         [&](PipelineContext& ctx, uint16_t port, const auto& in, size_t first,
                             auto& rooms, Decision* decisions) {
                           for (size_t i = 0; i < rooms.size(); ++i) {
                             decisions[i] =
                                 process_frame(snap, ctx, port, rooms[i],
                                               static_cast<uint16_t>(in[first + i].frame.size()));
                           }
                         });
  const Run burst =
      run(*in_bursts, arrivals,
          [&](PipelineContext& ctx, uint16_t port, const auto& in, size_t first, auto& rooms,
              Decision* decisions) {
            std::vector<FrameRef> refs;
            for (size_t i = 0; i < rooms.size(); ++i) {
              refs.push_back({rooms[i], static_cast<uint16_t>(in[first + i].frame.size())});
            }
            process_burst(snap, ctx, port, refs, decisions);
          });
  FUZZ_CHECK(single.decisions.size() == burst.decisions.size());
  for (size_t i = 0; i < single.decisions.size(); ++i) {
    if (std::memcmp(&single.decisions[i], &burst.decisions[i], sizeof(Decision)) != 0 ||
        single.frames[i] != burst.frames[i]) {
      std::fprintf(stderr, "frame %zu: burst decided differently (verdict %d/%d, reason %d/%d)\n",
                   i, int(burst.decisions[i].verdict), int(single.decisions[i].verdict),
                   int(burst.decisions[i].reason), int(single.decisions[i].reason));
      FUZZ_CHECK(!"process_burst differs from process_frame");
    }
  }
  FUZZ_CHECK(std::memcmp(&one_at_a_time->counters, &in_bursts->counters, sizeof(WorkerCounters)) ==
             0);
  FUZZ_CHECK(std::memcmp(&one_at_a_time->backend_counters, &in_bursts->backend_counters,
                         sizeof(BackendCounters)) == 0);
  FUZZ_CHECK(std::memcmp(&one_at_a_time->service_counters, &in_bursts->service_counters,
                         sizeof(ServiceCounters)) == 0);
  return 0;
}
