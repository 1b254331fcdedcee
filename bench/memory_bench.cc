// What the machine's memory gives one core and two, for the worker-scaling model in
// docs/PERFORMANCE.md ("Several workers"): the flow table's hits are random cache lines in a
// table far larger than the caches, so what bounds N workers is how many random lines per second
// the cores and the memory can serve, not the sequential bandwidth alone.
//   BM_RandomLines: independent random 64-byte reads (8 in flight, as the worker's burst
//                   pipeline keeps entries in flight), lines/s;
//   BM_ChasedLines: dependent random reads (one at a time): the latency, ns per line;
//   BM_Sequential:  streaming reads, bytes/s.
// Each thread has its own 1 GiB buffer, aligned and advised for transparent huge pages like the
// flow table (lb/flow_table.cc), so the TLB is not what is measured.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

namespace {

constexpr size_t kBytes = size_t{1} << 30;
constexpr size_t kLine = 64;
constexpr size_t kLines = kBytes / kLine;
constexpr size_t kHugePage = size_t{2} << 20;

struct Buffer {
  uint64_t* words = nullptr;
  Buffer() {
    words = static_cast<uint64_t*>(std::aligned_alloc(kHugePage, kBytes));
    if (words == nullptr) throw std::bad_alloc();
    madvise(words, kBytes, MADV_HUGEPAGE);
    // A random cyclic permutation of the lines, written in each line's first word: the chase
    // follows it, the independent reads use it as a stream of random indexes.
    std::vector<uint32_t> order(kLines);
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin() + 1, order.end(), std::mt19937_64(42));
    for (size_t i = 0; i < kLines; ++i) {
      words[size_t{order[i]} * (kLine / 8)] = order[(i + 1) % kLines];
    }
  }
  ~Buffer() { std::free(words); }
  uint64_t next(uint64_t line) const { return words[line * (kLine / 8)]; }
};

void BM_ChasedLines(benchmark::State& state) {
  Buffer buffer;
  uint64_t line = 0;
  for (auto _ : state) {
    for (int i = 0; i < 1024; ++i) line = buffer.next(line);
    benchmark::DoNotOptimize(line);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}

void BM_RandomLines(benchmark::State& state) {
  Buffer buffer;
  // Eight independent chains: eight misses in flight, as many as the worker's pipeline keeps.
  uint64_t lines[8];
  for (uint64_t k = 0; k < 8; ++k) lines[k] = k * (kLines / 8);
  for (auto _ : state) {
    for (int i = 0; i < 128; ++i) {
      for (uint64_t& line : lines) line = buffer.next(line);
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1024);
}

void BM_Sequential(benchmark::State& state) {
  Buffer buffer;
  for (auto _ : state) {
    uint64_t sum = 0;
    for (size_t i = 0; i < kBytes / 8; i += 8) sum += buffer.words[i];  // one word per line
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kBytes));
}

BENCHMARK(BM_ChasedLines)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_RandomLines)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Sequential)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
