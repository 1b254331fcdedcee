#include "agent/sender.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "report/signature.h"

namespace fairway::agent {
namespace {

// httplib names its errors tersely ("Connection", "Read"); say what they mean here.
std::string describe_client_error(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "no answer (read failed or timed out)";
    case httplib::Error::Write:
      return "cannot send (write failed or timed out)";
    default:
      return "HTTP client error: " + httplib::to_string(error);
  }
}

}  // namespace

SendStatus classify_http_status(int http_status) {
  if (http_status >= 200 && http_status <= 299) return SendStatus::accepted;
  if (http_status >= 500 && http_status <= 599) return SendStatus::failed;
  return SendStatus::refused;
}

int64_t backoff_delay_ms(const BackoffPolicy& policy, uint32_t failures, double random_fraction) {
  int64_t delay = policy.first_ms;
  for (uint32_t i = 1; i < failures && delay < policy.max_ms; ++i) delay *= 2;
  delay = std::min(delay, policy.max_ms);
  const double fraction = std::clamp(random_fraction, 0.0, 1.0);
  return delay - static_cast<int64_t>(static_cast<double>(delay) * policy.jitter * fraction);
}

ReportSender::ReportSender(Transport transport, Clock clock, Random random, std::string server,
                           BackoffPolicy policy)
    : transport_(std::move(transport)),
      clock_(std::move(clock)),
      random_(std::move(random)),
      server_(std::move(server)),
      policy_(policy) {}

void ReportSender::submit(SignedReport report) {
  if (retry_at_ms_ && clock_() < *retry_at_ms_) {
    spdlog::debug("report {} kept back: retrying fairwayd in {} ms", report.sequence,
                  *retry_at_ms_ - clock_());
    waiting_ = std::move(report);  // only the freshest report is worth sending
    ++deferred_;
    return;
  }
  waiting_.reset();
  send(std::move(report));
}

void ReportSender::poll() {
  if (!waiting_ || (retry_at_ms_ && clock_() < *retry_at_ms_)) return;
  SignedReport report = std::move(*waiting_);
  waiting_.reset();
  send(std::move(report));
}

std::optional<int64_t> ReportSender::next_attempt_ms() const {
  if (!waiting_) return std::nullopt;
  return retry_at_ms_ ? *retry_at_ms_ : clock_();
}

std::optional<uint64_t> ReportSender::waiting_sequence() const {
  if (!waiting_) return std::nullopt;
  return waiting_->sequence;
}

void ReportSender::send(SignedReport report) {
  ++attempts_;
  const SendOutcome outcome = transport_(report);
  switch (outcome.status) {
    case SendStatus::accepted:
      if (state_ != State::accepting) {
        if (failures_in_row_ > 0) {
          spdlog::info("fairwayd at {} accepts reports again (after {} failed attempts)", server_,
                       failures_in_row_);
        } else {
          spdlog::info("fairwayd at {} accepts reports", server_);
        }
      }
      spdlog::debug("report {} accepted ({})", report.sequence, outcome.http_status);
      state_ = State::accepting;
      failures_in_row_ = 0;
      retry_at_ms_.reset();
      last_refusal_.clear();
      return;
    case SendStatus::refused:
      if (outcome.message != last_refusal_ || state_ != State::refusing) {
        spdlog::error("fairwayd at {} refused report {}: HTTP {}: {}", server_, report.sequence,
                      outcome.http_status, outcome.message);
      } else {
        spdlog::debug("report {} refused ({})", report.sequence, outcome.http_status);
      }
      state_ = State::refusing;
      failures_in_row_ = 0;
      retry_at_ms_.reset();
      last_refusal_ = outcome.message;
      return;
    case SendStatus::failed: {
      ++failures_in_row_;
      const int64_t delay = backoff_delay_ms(policy_, failures_in_row_, random_());
      retry_at_ms_ = clock_() + delay;  // after the attempt, which may have taken seconds
      if (state_ != State::unreachable) {
        spdlog::warn("fairwayd at {} unreachable: {}; retrying with back-off (next in {} ms)",
                     server_, outcome.message, delay);
      } else {
        spdlog::debug("report {} failed: {}; next attempt in {} ms", report.sequence,
                      outcome.message, delay);
      }
      state_ = State::unreachable;
      last_refusal_.clear();
      return;
    }
  }
}

SendOutcome send_over_http(const HostPort& server, const SignedReport& report) {
  httplib::Client client(server.host, server.port);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(2, 0);
  client.set_write_timeout(2, 0);
  const httplib::Headers headers = {
      {kSignatureHeader, report.signature},
      {kAgentHeader, report.address},
      {"User-Agent", "fairway-agent/" FAIRWAY_VERSION},
  };
  httplib::Result answer = client.Post(kReportPath, headers, report.body, "application/json");
  SendOutcome outcome;
  if (!answer) {
    outcome.status = SendStatus::failed;
    outcome.message = describe_client_error(answer.error());
    return outcome;
  }
  outcome.http_status = answer->status;
  outcome.status = classify_http_status(answer->status);
  if (outcome.status == SendStatus::accepted) return outcome;
  auto json = nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded() && json.is_object() && json.contains("error") &&
      json["error"].is_string()) {
    outcome.message = json["error"].get<std::string>();
  } else if (answer->body.empty()) {
    outcome.message = "(empty body)";
  } else {
    outcome.message = answer->body.substr(0, 200);
    while (!outcome.message.empty() &&
           (outcome.message.back() == '\n' || outcome.message.back() == '\r')) {
      outcome.message.pop_back();
    }
  }
  return outcome;
}

}  // namespace fairway::agent
