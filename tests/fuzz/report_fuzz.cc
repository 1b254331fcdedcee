// libFuzzer target: the load collector on arbitrary report bodies, signed with the right key so
// that the parser and the checks behind the signature are what gets fuzzed (a hostile agent that
// holds the key). It must never throw or crash; a report is accepted or refused with a reason and
// a message; an accepted one is in range and its sequence only goes up.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "control/load_collector.h"
#include "fuzz_check.h"
#include "report/signature.h"

using namespace fairway;

namespace {

const std::string kKey = "fuzz-key-0123456789abcdef";
constexpr uint64_t kNow = 1'795'662'148'017;

LoadCollector& collector() {
  static LoadCollector c = [] {
    LoadCollector made;
    LoadFeedbackConfig config;
    config.key = kKey;
    made.configure(config);
    return made;
  }();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  LoadCollector& c = collector();
  LoadCollector::Outcome verdict;
  try {
    verdict = c.submit(body, "sha256=" + hmac_sha256_hex(kKey, body), "fuzz", kNow,
                       std::chrono::steady_clock::now());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "submit threw: %s\n", e.what());
    std::abort();
  }
  if (verdict.rejection) {
    FUZZ_CHECK(verdict.status >= 400 && verdict.status < 500);
    FUZZ_CHECK(!verdict.message.empty());
    FUZZ_CHECK(*verdict.rejection != ReportRejection::bad_signature);
    return 0;
  }
  FUZZ_CHECK(verdict.status == 200);
  ReportRejection reason{};
  std::string error;
  auto report = parse_load_report(body, reason, error);
  FUZZ_CHECK(report.has_value());
  FUZZ_CHECK(report->cpu_percent >= 0 && report->cpu_percent <= 100);
  FUZZ_CHECK(report->memory_percent >= 0 && report->memory_percent <= 100);
  FUZZ_CHECK(!report->mean_response_ms || std::isfinite(*report->mean_response_ms));
  const auto& kept = c.agents().at(report->address).report;
  FUZZ_CHECK(kept.sequence == report->sequence);
  return 0;
}
