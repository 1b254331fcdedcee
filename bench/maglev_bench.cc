// Time to build one Maglev table, the cost a control change pays per service (the Maglev paper
// reports 1.8 ms for 1000 back-ends at M = 65537).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "lb/maglev.h"

namespace fairway {
namespace {

void BM_BuildMaglevTable(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const bool weighted = state.range(1) != 0;
  std::vector<std::string> keys;
  std::vector<MaglevBackend> backends;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    keys.push_back("198.18." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250) + ":80");
  }
  for (size_t i = 0; i < n; ++i) {
    backends.push_back({keys[i], weighted ? static_cast<uint32_t>(1 + i % 4) : 1u});
  }
  for (auto _ : state) {
    std::vector<uint16_t> table = build_maglev_table(backends, kDefaultMaglevTableSize);
    benchmark::DoNotOptimize(table.data());
  }
}
BENCHMARK(BM_BuildMaglevTable)
    ->ArgNames({"backends", "weighted"})
    ->ArgsProduct({{100, 1000}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace fairway

BENCHMARK_MAIN();
