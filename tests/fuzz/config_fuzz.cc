// libFuzzer target: load_config_string on arbitrary text. It must never throw or crash; it
// returns exactly one of a config or an error, and an error reads "SOURCE:..." as documented
// (docs/CONFIG.md). A loaded config must also build a snapshot (when its Maglev tables are small
// enough to keep the fuzzer fast).
//
// It found that yaml-cpp 0.7's YAML::LoadAll loops forever on a stray ',' (jbeder/yaml-cpp#1040);
// the loader no longer calls LoadAll. The reproducers in tests/fuzz/crashes/ are unit tests now.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/snapshot_builder.h"
#include "fuzz_check.h"

using namespace fairway;

namespace {}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string source = "fuzz.yaml";
  std::optional<ConfigResult> loaded;
  try {
    loaded.emplace(load_config_string(text, source));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_config_string threw: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "load_config_string threw a non-std exception\n");
    std::abort();
  }
  const ConfigResult& result = *loaded;
  if (!result) {
    const std::string& message = result.error().message;
    FUZZ_CHECK(message.compare(0, source.size() + 1, source + ":") == 0);
    // config.cc turns unexpected std::exceptions into "internal error": a bug in the loader
    // (only out-of-memory is expected there, and libFuzzer's malloc limit reports that itself).
    if (message.rfind(source + ": internal error: ", 0) == 0) {
      std::fprintf(stderr, "%s\n", message.c_str());
      FUZZ_CHECK(!"load_config_string reported an internal error");
    }
    return 0;
  }

  const Config& config = *result;
  FUZZ_CHECK(!config.ports.empty());
  size_t table_total = 0;
  for (const ServiceConfig& s : config.services) {
    FUZZ_CHECK(!s.backends.empty());
    FUZZ_CHECK(s.table_size > s.backends.size());
    table_total += s.table_size;
  }
  if (table_total > 20000) return 0;
  std::vector<RuntimePort> ports;
  for (size_t i = 0; i < config.ports.size(); ++i) {
    MacAddress mac{{2, 0, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
    ports.push_back({config.ports[i].name, config.ports[i].mac.value_or(mac),
                     config.ports[i].exception_path, 0});
  }
  auto snap = build_snapshot(config, ports, KernelState{}, 1);
  FUZZ_CHECK(snap != nullptr);
  FUZZ_CHECK(snap->services.size() == config.services.size());
  for (const Service& s : snap->services) {
    FUZZ_CHECK(s.maglev.size() == config.services[s.id].table_size);
    for (uint16_t index : s.maglev) FUZZ_CHECK(index == kNoBackend || index < s.backends.size());
  }
  for (const Route& r : snap->routes) FUZZ_CHECK(r.port < snap->ports.size());
  return 0;
}
