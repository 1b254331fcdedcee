#include "agent/sender.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <sstream>
#include <vector>

namespace fairway::agent {
namespace {

TEST(Backoff, DoublesFromOneSecondUpToThirty) {
  const BackoffPolicy policy;
  std::vector<int64_t> delays;
  for (uint32_t failures = 1; failures <= 8; ++failures) {
    delays.push_back(backoff_delay_ms(policy, failures, 0.0));
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000}));
  EXPECT_EQ(backoff_delay_ms(policy, 1'000'000, 0.0), 30000);  // no overflow
}

TEST(Backoff, JitterOnlyShortensByUpToAFifth) {
  const BackoffPolicy policy;
  EXPECT_EQ(backoff_delay_ms(policy, 1, 0.5), 900);
  EXPECT_EQ(backoff_delay_ms(policy, 6, 0.5), 27000);
  for (double fraction : {0.0, 0.25, 0.999999, 1.0}) {
    for (uint32_t failures = 1; failures < 10; ++failures) {
      const int64_t full = backoff_delay_ms(policy, failures, 0.0);
      const int64_t jittered = backoff_delay_ms(policy, failures, fraction);
      EXPECT_LE(jittered, full);
      EXPECT_GE(jittered, full * 8 / 10);
    }
  }
}

TEST(Backoff, HttpStatusClasses) {
  EXPECT_EQ(classify_http_status(200), SendStatus::accepted);
  EXPECT_EQ(classify_http_status(204), SendStatus::accepted);
  EXPECT_EQ(classify_http_status(400), SendStatus::refused);
  EXPECT_EQ(classify_http_status(401), SendStatus::refused);
  EXPECT_EQ(classify_http_status(404), SendStatus::refused);
  EXPECT_EQ(classify_http_status(302), SendStatus::refused);
  EXPECT_EQ(classify_http_status(500), SendStatus::failed);
  EXPECT_EQ(classify_http_status(503), SendStatus::failed);
}

SendOutcome accepted() {
  return {.status = SendStatus::accepted, .http_status = 204};
}
SendOutcome unavailable() {
  return {.status = SendStatus::failed, .http_status = 503, .message = "starting"};
}
SendOutcome no_answer() {
  return {.status = SendStatus::failed, .message = "cannot connect"};
}
SendOutcome refused(const std::string& why) {
  return {.status = SendStatus::refused, .http_status = 401, .message = why};
}

// The agent's loop in miniature (main.cc's run_loop) on a fake clock: a report every
// `interval_ms` whatever the sender does, the sender polled whenever the loop wakes.
class SenderHarness {
 public:
  explicit SenderHarness(int64_t interval_ms, double jitter_fraction = 0.0)
      : interval_ms_(interval_ms),
        sender_([this](const SignedReport& report) { return transport(report); },
                [this] { return now_ms_; }, [jitter_fraction] { return jitter_fraction; },
                "127.0.0.1:9180") {
    log_ = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_st>(log_text_));
    log_->set_pattern("%l %v");
    spdlog::set_default_logger(log_);
  }

  // The next outcomes of the transport, then `then` forever.
  void script(std::vector<SendOutcome> outcomes, SendOutcome then) {
    script_.assign(outcomes.begin(), outcomes.end());
    then_ = then;
  }

  // Runs the loop until `end_ms`, waking at the next report or the sender's next attempt.
  void run_until(int64_t end_ms) {
    for (;;) {
      int64_t wake = next_report_ms_;
      if (auto retry = sender_.next_attempt_ms()) wake = std::min(wake, *retry);
      if (wake > end_ms) break;
      now_ms_ = std::max(now_ms_, wake);
      if (now_ms_ >= next_report_ms_) {
        sender_.submit({.sequence = next_sequence_, .body = std::to_string(next_sequence_)});
        ++next_sequence_;
        next_report_ms_ += interval_ms_;
      }
      sender_.poll();
    }
    now_ms_ = end_ms;
  }

  struct Sent {
    int64_t at_ms;
    uint64_t sequence;
  };
  const std::vector<Sent>& sent() const { return sent_; }
  ReportSender& sender() { return sender_; }
  std::string log() const { return log_text_.str(); }
  int64_t send_duration_ms = 0;  // how long each attempt takes (a timeout, say)

 private:
  SendOutcome transport(const SignedReport& report) {
    sent_.push_back({now_ms_, report.sequence});
    EXPECT_EQ(report.body, std::to_string(report.sequence));
    now_ms_ += send_duration_ms;
    if (script_.empty()) return then_;
    SendOutcome outcome = script_.front();
    script_.pop_front();
    return outcome;
  }

  int64_t interval_ms_;
  int64_t now_ms_ = 0;
  int64_t next_report_ms_ = 0;
  uint64_t next_sequence_ = 1000;
  std::deque<SendOutcome> script_;
  SendOutcome then_ = accepted();
  std::vector<Sent> sent_;
  std::ostringstream log_text_;
  std::shared_ptr<spdlog::logger> log_;
  ReportSender sender_;
};

std::vector<int64_t> times_of(const std::vector<SenderHarness::Sent>& sent) {
  std::vector<int64_t> times;
  for (const auto& s : sent) times.push_back(s.at_ms);
  return times;
}

std::vector<uint64_t> sequences_of(const std::vector<SenderHarness::Sent>& sent) {
  std::vector<uint64_t> sequences;
  for (const auto& s : sent) sequences.push_back(s.sequence);
  return sequences;
}

TEST(ReportSender, SendsEveryReportWhileAccepted) {
  SenderHarness harness(1000);
  harness.run_until(4500);
  EXPECT_EQ(times_of(harness.sent()), (std::vector<int64_t>{0, 1000, 2000, 3000, 4000}));
  EXPECT_EQ(sequences_of(harness.sent()), (std::vector<uint64_t>{1000, 1001, 1002, 1003, 1004}));
  EXPECT_EQ(harness.sender().state(), ReportSender::State::accepting);
  EXPECT_EQ(harness.sender().deferred(), 0u);
}

TEST(ReportSender, BacksOffOneTwoFourSecondsAndSendsTheFreshestReport) {
  SenderHarness harness(700);
  harness.script({}, unavailable());
  harness.run_until(8000);
  // Attempts: 0 (fails: wait 1 s); 1000 (the report of 700; wait 2 s); 3000 (the report of
  // 2800, not those of 1400 and 2100; wait 4 s); 7000 (the report built at 7000 itself).
  EXPECT_EQ(times_of(harness.sent()), (std::vector<int64_t>{0, 1000, 3000, 7000}));
  EXPECT_EQ(sequences_of(harness.sent()), (std::vector<uint64_t>{1000, 1001, 1004, 1010}));
  EXPECT_EQ(harness.sender().state(), ReportSender::State::unreachable);
  EXPECT_EQ(harness.sender().failures_in_row(), 4u);
  // A report was built every 700 ms all along: 12 by 7700, 4 sent, the one of 7700 waiting.
  EXPECT_EQ(harness.sender().waiting_sequence(), 1011u);
  EXPECT_EQ(harness.sender().next_attempt_ms(), 7000 + 8000);
}

TEST(ReportSender, BackoffCapsAtThirtySeconds) {
  SenderHarness harness(1000);
  harness.script({}, no_answer());
  harness.run_until(200'000);
  std::vector<int64_t> gaps;
  const auto times = times_of(harness.sent());
  for (size_t i = 1; i < times.size(); ++i) gaps.push_back(times[i] - times[i - 1]);
  EXPECT_EQ(gaps, (std::vector<int64_t>{1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000,
                                        30000}));
}

TEST(ReportSender, SequenceOnlyEverIncreases) {
  SenderHarness harness(300, 0.37);
  harness.script({no_answer(), no_answer(), accepted(), unavailable(), refused("bad signature"),
                  no_answer(), no_answer(), no_answer(), accepted()},
                 accepted());
  harness.run_until(30'000);
  const auto sequences = sequences_of(harness.sent());
  ASSERT_GT(sequences.size(), 10u);
  for (size_t i = 1; i < sequences.size(); ++i) EXPECT_GT(sequences[i], sequences[i - 1]);
}

TEST(ReportSender, SuccessResetsTheBackoff) {
  SenderHarness harness(1000);
  harness.script({no_answer(), no_answer(), no_answer(), accepted(), no_answer()}, accepted());
  harness.run_until(12'000);
  // fail 0 (+1 s), fail 1000 (+2 s), fail 3000 (+4 s), ok 7000, fail 8000 (+1 s again), ok 9000
  EXPECT_EQ(times_of(harness.sent()),
            (std::vector<int64_t>{0, 1000, 3000, 7000, 8000, 9000, 10000, 11000, 12000}));
  EXPECT_EQ(harness.sender().failures_in_row(), 0u);
}

TEST(ReportSender, RefusalDoesNotBackOff) {
  SenderHarness harness(300);  // shorter than the first back-off (1 s)
  harness.script({}, refused("unknown address 198.18.1.99"));
  harness.run_until(1500);
  EXPECT_EQ(times_of(harness.sent()), (std::vector<int64_t>{0, 300, 600, 900, 1200, 1500}));
  EXPECT_EQ(harness.sender().state(), ReportSender::State::refusing);
  EXPECT_EQ(harness.sender().next_attempt_ms(), std::nullopt);
  EXPECT_EQ(harness.sender().deferred(), 0u);
}

TEST(ReportSender, BackoffCountsFromTheEndOfASlowAttempt) {
  SenderHarness harness(1000);
  harness.send_duration_ms = 3000;  // connect + read timeouts
  harness.script({no_answer()}, accepted());
  harness.run_until(4500);
  // The first attempt ends at 3000; its 1 s back-off ends at 4000, not 1000: the reports the loop
  // built late at 3000 are kept back, the one of 4000 goes.
  ASSERT_EQ(harness.sent().size(), 2u);
  EXPECT_EQ(harness.sent()[1].at_ms, 4000);
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReportSender, LogsStateChangesNotEveryReport) {
  SenderHarness harness(1000);
  harness.script({accepted(), accepted(), no_answer(), no_answer(), no_answer(), accepted(),
                  refused("bad signature"), refused("bad signature"), refused("stale sequence"),
                  refused("stale sequence"), accepted(), refused("bad signature")},
                 accepted());
  harness.run_until(30'000);
  const std::string log = harness.log();
  // first contact, after the refusals, after the last refusal
  EXPECT_EQ(count(log, "info fairwayd at 127.0.0.1:9180 accepts reports\n"), 3) << log;
  EXPECT_EQ(count(log, "unreachable: cannot connect"), 1) << log;
  EXPECT_EQ(count(log, "accepts reports again (after 3 failed attempts)"), 1) << log;
  // each distinct refusal once, and again after the server accepted in between
  EXPECT_EQ(count(log, "HTTP 401: bad signature"), 2) << log;
  EXPECT_EQ(count(log, "HTTP 401: stale sequence"), 1) << log;
  EXPECT_EQ(count(log, "\n"), 8) << log;
}

}  // namespace
}  // namespace fairway::agent
