#pragma once
// The load report fairway-agent sends to fairwayd: one type for both ends, its JSON both ways
// (docs/AGENT.md). The agent writes it with to_json(); the collector reads it with
// parse_load_report(), which range-checks every field and says which one was wrong.
//
// Wire format (POST /api/v1/agents/report, Content-Type: application/json), one compact JSON
// object, keys in this order, the last two only when the application's figures are known:
//
//   {"agent":"be1","address":"198.18.1.11","timestamp_ms":1795662148017,"sequence":42,
//    "interval_ms":1000,"cpu_percent":37.5,"memory_percent":41.2,"active_clients":12,
//    "requests_per_second":85.0,"mean_response_ms":3.2}
//
// Signed in the header X-Fairway-Signature (report/signature.h).
#include <cstdint>
#include <optional>
#include <string>

#include "packet/addresses.h"

namespace fairway {

struct LoadReport {
  std::string agent;          // the agent's --name, 1..64 characters
  IpAddress address;          // the back-end address in fairwayd's configuration
  uint64_t timestamp_ms = 0;  // wall clock (CLOCK_REALTIME) when the report was made
  uint64_t sequence = 0;      // starts at the wall clock in ms at agent start, +1 per report
  uint64_t interval_ms = 0;   // the agent's --interval
  double cpu_percent = 0;     // 0..100, over the last interval
  double memory_percent = 0;  // 0..100
  uint64_t active_clients = 0;
  std::optional<double> requests_per_second;  // from --app-url / --app-command
  std::optional<double> mean_response_ms;
  friend bool operator==(const LoadReport&, const LoadReport&) = default;
};

// Compact JSON, keys in the order above. Percentages and requests per second are rounded to 0.1,
// the response time to 0.001 ms: finer digits are noise and would only lengthen the body.
// Numbers without a fraction are still written with ".0" ("85.0"). Never throws (text that is
// not valid UTF-8 is replaced by U+FFFD).
std::string to_json(const LoadReport& report);

#define FAIRWAY_REPORT_REJECTIONS(X)                                                 \
  X(feedback_disabled) /* no load_feedback key configured */                         \
  X(bad_signature)     /* missing or wrong X-Fairway-Signature */                    \
  X(malformed)         /* not JSON, a field missing, of the wrong type or unknown */ \
  X(out_of_range)      /* a figure outside what a real server can report */          \
  X(clock_skew)        /* timestamp too far from ours: old, or a wrong clock */      \
  X(replayed)          /* sequence not above the last accepted one */                \
  X(too_many_agents)   /* a new address beyond the collector's limit */              \
  X(wrong_key)         /* not the key of the address reported for (agents' own keys) */

enum class ReportRejection : uint8_t {
#define FAIRWAY_REJECTION_ENUM(name) name,
  FAIRWAY_REPORT_REJECTIONS(FAIRWAY_REJECTION_ENUM)
#undef FAIRWAY_REJECTION_ENUM
      count
};
const char* rejection_name(ReportRejection reason);

// Parses and range-checks a report body; on failure sets `reason` and says in `error` which field
// was wrong and why.
std::optional<LoadReport> parse_load_report(const std::string& body, ReportRejection& reason,
                                            std::string& error);

}  // namespace fairway
