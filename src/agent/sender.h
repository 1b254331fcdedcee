#pragma once
// Sends signed reports to fairwayd and decides when to retry.
//
// Policy:
// - 2xx: accepted.
// - no answer (connect/read error or timeout) or 5xx: fairwayd is unreachable or in trouble; wait
//   1 s, 2 s, 4 s ... (at most 30 s, each shortened at random by up to 20% so that many agents
//   restarted together do not retry in step) before the next attempt. Reports built meanwhile
//   are not sent; each replaces the one waiting, and the freshest is sent when the wait ends.
//   Back-off never delays measurement: the caller builds a report every interval regardless.
// - anything else (4xx: bad signature, unknown address, malformed): fairwayd answered and
//   refused; retrying sooner will not fix it, so the next report goes at the normal interval. Each
//   distinct refusal is logged once.
// State changes (accepting, refusing, unreachable) are logged; single reports only at debug level.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent/arguments.h"

namespace fairway::agent {

struct SignedReport {
  uint64_t sequence = 0;  // for the log
  std::string body;       // to_json(report)
  std::string signature;  // signature_header(key, body)
  std::string address;    // the back-end address reported for (X-Fairway-Agent)
};

enum class SendStatus { accepted, refused, failed };

struct SendOutcome {
  SendStatus status = SendStatus::failed;
  int http_status = 0;  // 0 when there was no answer
  std::string message;  // the network error, or the server's error text
};

// 2xx accepted, 5xx failed (retry with back-off), anything else refused.
SendStatus classify_http_status(int http_status);

struct BackoffPolicy {
  int64_t first_ms = 1000;
  int64_t max_ms = 30'000;
  double jitter = 0.2;  // a delay is shortened by up to this fraction
};

// The wait after the `failures`-th failure in a row (1 = the first): min(first * 2^(failures-1),
// max), shortened by jitter * random_fraction (random_fraction in [0, 1)).
int64_t backoff_delay_ms(const BackoffPolicy& policy, uint32_t failures, double random_fraction);

class ReportSender {
 public:
  using Transport = std::function<SendOutcome(const SignedReport&)>;
  using Clock = std::function<int64_t()>;  // monotonic milliseconds
  using Random = std::function<double()>;  // uniform in [0, 1)

  enum class State { starting, accepting, refusing, unreachable };

  // `server` names fairwayd in log messages.
  ReportSender(Transport transport, Clock clock, Random random, std::string server,
               BackoffPolicy policy = {});

  // A freshly built report: sent now, or, while backing off, kept (replacing an older one) until
  // the back-off ends.
  void submit(SignedReport report);

  // Sends the kept report once the back-off has ended. The caller's loop calls it when it wakes.
  void poll();

  // When poll() will have something to send; nullopt when no report is waiting.
  std::optional<int64_t> next_attempt_ms() const;

  State state() const { return state_; }
  uint32_t failures_in_row() const { return failures_in_row_; }
  uint64_t attempts() const { return attempts_; }  // reports handed to the transport
  uint64_t deferred() const { return deferred_; }  // reports kept back by a back-off
  std::optional<uint64_t> waiting_sequence() const;

 private:
  void send(SignedReport report);

  Transport transport_;
  Clock clock_;
  Random random_;
  std::string server_;
  BackoffPolicy policy_;
  State state_ = State::starting;
  uint32_t failures_in_row_ = 0;
  std::optional<int64_t> retry_at_ms_;  // set while backing off
  std::optional<SignedReport> waiting_;
  std::string last_refusal_;  // logged once until something else happens
  uint64_t attempts_ = 0;
  uint64_t deferred_ = 0;
};

// POSTs the report to http://server/api/v1/agents/report with its signature (connect timeout
// 1 s, read and write timeouts 2 s). The message of a refusal is the server's JSON "error", or
// the start of its body.
SendOutcome send_over_http(const HostPort& server, const SignedReport& report);

}  // namespace fairway::agent
