#include "control/health_checker.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fairway {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// What a test server does with one connection after reading the request.
struct Reply {
  enum class Then : uint8_t { close, hold, reset };
  std::string bytes;  // sent first
  Then then = Then::close;
};

// A tiny blocking TCP server on 127.0.0.1 or ::1 (ephemeral port) with its own thread. It takes
// one connection at a time: reads the request (until an empty line, EOF or 300 ms of silence),
// asks `handler` (with the 0-based connection number) what to answer, sends it, then closes,
// resets, or holds the connection open until the server is destroyed.
class TestServer {
 public:
  using Handler = std::function<Reply(int index, const std::string& request)>;

  TestServer(bool v6, Handler handler) : v6_(v6), handler_(std::move(handler)) {
    listen_fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (v6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr = in6addr_loopback;
      length = sizeof *sin6;
    } else {
      auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
      sin->sin_family = AF_INET;
      sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      length = sizeof *sin;
    }
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
      return;  // ok() is false
    }
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~TestServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    for (int fd : held_) ::close(fd);
  }

  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  IpAddress address() const { return ip(v6_ ? "::1" : "127.0.0.1"); }
  int connections() const { return connections_; }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::string request = read_request(fd);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      Reply reply = handler_(connections_++, request);
      size_t sent = 0;
      while (sent < reply.bytes.size()) {
        ssize_t n = ::send(fd, reply.bytes.data() + sent, reply.bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      if (reply.then == Reply::Then::hold) {
        held_.push_back(fd);
        continue;
      }
      if (reply.then == Reply::Then::reset) {
        linger no_linger{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
      }
      ::close(fd);
    }
  }

  std::string read_request(int fd) const {
    std::string request;
    char buffer[1024];
    while (!stop_ && request.find("\r\n\r\n") == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 300) <= 0) break;
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    return request;
  }

  bool v6_;
  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::vector<int> held_;  // server thread only, then the destructor
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
};

Reply http(const std::string& status_and_reason, const std::string& body) {
  return Reply{"HTTP/1.1 " + status_and_reason + "\r\nContent-Type: text/plain\r\n\r\n" + body};
}

TestServer::Handler always(Reply reply) {
  return [reply](int, const std::string&) { return reply; };
}

// A loopback port nothing listens on: bound (so no one else takes it) but not listening, so a
// connection to it is refused.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof sin;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&sin), length) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &length) == 0) {
      port_ = ntohs(sin.sin_port);
    }
  }
  ~ClosedPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

bool ipv6_loopback_works() {
  TestServer probe(true, always(Reply{}));
  return probe.ok();
}

// Short intervals keep the tests fast; a generous timeout keeps a loaded machine from failing
// checks that should succeed. The timeout tests set their own.
HealthCheckConfig tcp_check(uint32_t rise = 1, uint32_t fall = 1) {
  HealthCheckConfig check;
  check.type = HealthCheckConfig::Type::tcp;
  check.interval_ms = 20;
  check.timeout_ms = 2000;
  check.rise = rise;
  check.fall = fall;
  return check;
}

HealthCheckConfig http_check(uint32_t rise = 1, uint32_t fall = 1) {
  HealthCheckConfig check = tcp_check(rise, fall);
  check.type = HealthCheckConfig::Type::http;
  return check;
}

// A test names its targets ("b1", "a", ...) by their BackendId's service.
HealthTarget target(const IpAddress& address, uint16_t port, const HealthCheckConfig& check,
                    const std::string& name = "b1") {
  return HealthTarget{BackendId{name, address, port}, port, check};
}

// The status of the target named `name`, or nullptr.
const HealthStatus* status_of(const HealthChecker& checker, const std::string& name) {
  for (const HealthReport& r : checker.report()) {
    if (r.target.backend.service == name) return checker.status(r.target.backend);
  }
  return nullptr;
}

HealthTarget target(const TestServer& server, const HealthCheckConfig& check,
                    const std::string& backend = "b1") {
  return target(server.address(), server.port(), check, backend);
}

// Steps the checker on the real clock until `done` holds; false after `limit` (generous: only a
// broken checker should ever reach it).
bool run_until(HealthChecker& checker, const std::function<bool()>& done,
               std::vector<HealthTransition>* transitions = nullptr,
               std::chrono::milliseconds limit = 10s) {
  Clock::time_point end = Clock::now() + limit;
  while (Clock::now() < end) {
    std::vector<HealthTransition> now = checker.step(Clock::now());
    if (transitions) transitions->insert(transitions->end(), now.begin(), now.end());
    if (done()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

// Runs until the target has finished `checks` checks (step() finishes at most one check of a
// target per call, so this stops exactly there).
const HealthStatus& run_checks(HealthChecker& checker, uint64_t checks,
                               std::vector<HealthTransition>* transitions = nullptr,
                               const std::string& backend = "b1") {
  static const HealthStatus kMissing{};
  EXPECT_TRUE(run_until(
      checker,
      [&] {
        const HealthStatus* s = status_of(checker, backend);
        return s && s->checks >= checks;
      },
      transitions))
      << "fewer than " << checks << " checks finished";
  const HealthStatus* s = status_of(checker, backend);
  return s ? *s : kMissing;
}

size_t open_fds() {
  size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

TEST(HealthCheckerTest, TargetStartsUnknownAndUnknownAllowsTraffic) {
  HealthChecker checker;
  checker.set_targets({target(ip("127.0.0.1"), 9, tcp_check())});
  const HealthStatus* s = status_of(checker, "b1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, HealthState::unknown);
  EXPECT_EQ(s->checks, 0u);
  EXPECT_EQ(status_of(checker, "other"), nullptr);
  EXPECT_EQ(checker.status(BackendId{"b1", ip("127.0.0.1"), 10}), nullptr);
  EXPECT_NE(checker.status(BackendId{"b1", ip("127.0.0.1"), 9}), nullptr);
  EXPECT_TRUE(health_allows_traffic(HealthState::unknown));
  EXPECT_TRUE(health_allows_traffic(HealthState::up));
  EXPECT_FALSE(health_allows_traffic(HealthState::down));
  EXPECT_STREQ(health_state_name(HealthState::unknown), "unknown");
  EXPECT_STREQ(health_state_name(HealthState::up), "up");
  EXPECT_STREQ(health_state_name(HealthState::down), "down");
}

TEST(HealthCheckerTest, TcpCheckGoesUpOnAListeningPort) {
  TestServer server(false, always(Reply{}));
  ASSERT_TRUE(server.ok());
  HealthChecker checker;
  checker.set_targets({target(server, tcp_check(2, 3))});
  std::vector<HealthTransition> transitions;
  EXPECT_EQ(run_checks(checker, 1, &transitions).state, HealthState::unknown);
  const HealthStatus& s = run_checks(checker, 2, &transitions);
  EXPECT_EQ(s.state, HealthState::up);
  EXPECT_EQ(s.successes_in_row, 2u);
  EXPECT_EQ(s.failures_in_row, 0u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.last_error, "");
  ASSERT_EQ(transitions.size(), 1u);
  EXPECT_EQ(transitions[0].backend.service, "b1");
  EXPECT_EQ(transitions[0].backend.address, server.address());
  EXPECT_EQ(transitions[0].from, HealthState::unknown);
  EXPECT_EQ(transitions[0].to, HealthState::up);
  EXPECT_EQ(transitions[0].reason, "2 checks in a row succeeded");
}

TEST(HealthCheckerTest, TcpCheckWorksOverIpv6) {
  if (!ipv6_loopback_works()) GTEST_SKIP() << "no IPv6 loopback here";
  TestServer server(true, always(Reply{}));
  ASSERT_TRUE(server.ok());
  HealthChecker checker;
  checker.set_targets({target(server, tcp_check())});
  EXPECT_EQ(run_checks(checker, 1).state, HealthState::up);
  // The kernel completes the handshake before the server thread gets to accept().
  EXPECT_TRUE(run_until(checker, [&] { return server.connections() >= 1; }));
}

TEST(HealthCheckerTest, TcpCheckGoesDownOnAClosedPortAfterFallFailures) {
  ClosedPort closed;
  ASSERT_NE(closed.port(), 0);
  HealthChecker checker;
  checker.set_targets({target(ip("127.0.0.1"), closed.port(), tcp_check(2, 3))});
  std::vector<HealthTransition> transitions;
  for (uint64_t n = 1; n <= 2; ++n) {
    const HealthStatus& s = run_checks(checker, n, &transitions);
    EXPECT_EQ(s.state, HealthState::unknown) << "after " << n << " failures";
    EXPECT_EQ(s.failures_in_row, n);
  }
  const HealthStatus& s = run_checks(checker, 3, &transitions);
  EXPECT_EQ(s.state, HealthState::down);
  EXPECT_EQ(s.failures, 3u);
  EXPECT_EQ(s.last_error, "connect: Connection refused");
  ASSERT_EQ(transitions.size(), 1u);
  EXPECT_EQ(transitions[0].from, HealthState::unknown);
  EXPECT_EQ(transitions[0].to, HealthState::down);
  EXPECT_EQ(transitions[0].reason, "connect: Connection refused (3 checks in a row failed)");
  // Further failures are no news.
  run_checks(checker, 5, &transitions);
  EXPECT_EQ(transitions.size(), 1u);
}

TEST(HealthCheckerTest, RiseAndFallCountOnlyRunsInARow) {
  // rise 3, fall 2: two successes then a failure never make it up; a single failure never makes
  // it down.
  const std::vector<int> statuses = {200, 200, 503, 200, 200, 503, 200, 200,
                                     200, 503, 200, 503, 503, 200, 200};
  TestServer server(false, [&](int index, const std::string&) {
    int status = index < int(statuses.size()) ? statuses[index] : 200;
    return http(std::to_string(status) + " X", "");
  });
  ASSERT_TRUE(server.ok());
  HealthChecker checker;
  checker.set_targets({target(server, http_check(3, 2))});
  std::vector<HealthTransition> transitions;
  for (uint64_t n = 1; n <= 8; ++n) {
    EXPECT_EQ(run_checks(checker, n, &transitions).state, HealthState::unknown) << "check " << n;
  }
  EXPECT_EQ(run_checks(checker, 9, &transitions).state, HealthState::up);
  for (uint64_t n = 10; n <= 12; ++n) {
    EXPECT_EQ(run_checks(checker, n, &transitions).state, HealthState::up) << "check " << n;
  }
  const HealthStatus& down = run_checks(checker, 13, &transitions);
  EXPECT_EQ(down.state, HealthState::down);
  EXPECT_EQ(down.last_error, "HTTP status 503, expected 200");
  EXPECT_EQ(run_checks(checker, 14, &transitions).state, HealthState::down);
  EXPECT_EQ(run_checks(checker, 15, &transitions).state, HealthState::down);
  const HealthStatus& s = run_checks(checker, 17, &transitions);
  EXPECT_EQ(s.state, HealthState::up);
  EXPECT_EQ(s.checks, 17u);
  EXPECT_EQ(s.failures, 5u);
  EXPECT_EQ(s.last_error, "HTTP status 503, expected 200");  // kept for the API
  ASSERT_EQ(transitions.size(), 3u);
  EXPECT_EQ(transitions[0].to, HealthState::up);
  EXPECT_EQ(transitions[1].to, HealthState::down);
  EXPECT_EQ(transitions[1].reason, "HTTP status 503, expected 200 (2 checks in a row failed)");
  EXPECT_EQ(transitions[2].from, HealthState::down);
  EXPECT_EQ(transitions[2].to, HealthState::up);
}

TEST(HealthCheckerTest, HttpCheckSendsTheRequestAndMatchesTheStatus) {
  TestServer server(false, always(http("200 OK", "hello")));
  ASSERT_TRUE(server.ok());
  HealthCheckConfig check = http_check();
  check.path = "/healthz?full=1";
  check.host = "example.test";
  HealthChecker checker;
  checker.set_targets({target(server, check)});
  EXPECT_EQ(run_checks(checker, 1).state, HealthState::up);
  ASSERT_FALSE(server.requests().empty());
  EXPECT_EQ(server.requests()[0],
            "GET /healthz?full=1 HTTP/1.0\r\nHost: example.test\r\nUser-Agent: "
            "fairway-health\r\nConnection: close\r\n\r\n");
}

TEST(HealthCheckerTest, HttpHostDefaultsToTheBackendAddressAndPort) {
  TestServer server(false, always(http("200 OK", "")));
  ASSERT_TRUE(server.ok());
  HealthChecker checker;
  checker.set_targets({target(server, http_check())});
  EXPECT_EQ(run_checks(checker, 1).state, HealthState::up);
  ASSERT_FALSE(server.requests().empty());
  EXPECT_NE(server.requests()[0].find(
                "GET / HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << server.requests()[0];
}

TEST(HealthCheckerTest, HttpCheckWorksOverIpv6) {
  if (!ipv6_loopback_works()) GTEST_SKIP() << "no IPv6 loopback here";
  TestServer server(true, always(http("200 OK", "")));
  ASSERT_TRUE(server.ok());
  HealthChecker checker;
  checker.set_targets({target(server, http_check())});
  EXPECT_EQ(run_checks(checker, 1).state, HealthState::up);
  ASSERT_FALSE(server.requests().empty());
  EXPECT_NE(server.requests()[0].find("Host: [::1]:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << server.requests()[0];
}

TEST(HealthCheckerTest, HttpStatusMismatchFails) {
  TestServer server(false, always(http("503 Service Unavailable", "busy")));
  ASSERT_TRUE(server.ok());
  HealthChecker checker;
  checker.set_targets({target(server, http_check())});
  const HealthStatus& s = run_checks(checker, 1);
  EXPECT_EQ(s.state, HealthState::down);
  EXPECT_EQ(s.last_error, "HTTP status 503, expected 200");
}

TEST(HealthCheckerTest, HttpExpectedStatusOtherThan200) {
  TestServer server(false, always(http("204 No Content", "")));
  ASSERT_TRUE(server.ok());
  HealthCheckConfig check = http_check();
  HealthChecker checker;
  checker.set_targets({target(server, check)});
  EXPECT_EQ(run_checks(checker, 1).last_error, "HTTP status 204, expected 200");
  check.expect_status = 204;
  checker.set_targets({target(server, check)});
  EXPECT_EQ(run_checks(checker, 1).state, HealthState::up);
}

TEST(HealthCheckerTest, HttpBodyMustContainTheExpectedText) {
  TestServer good(false, always(http("200 OK", "status: all ok here\n")));
  TestServer bad(false, always(http("200 OK", "status: fine\n")));
  ASSERT_TRUE(good.ok() && bad.ok());
  HealthCheckConfig check = http_check();
  check.expect_body = "ok";
  HealthChecker checker;
  checker.set_targets({target(good, check, "good"), target(bad, check, "bad")});
  EXPECT_EQ(run_checks(checker, 1, nullptr, "good").state, HealthState::up);
  const HealthStatus& s = run_checks(checker, 1, nullptr, "bad");
  EXPECT_EQ(s.state, HealthState::down);
  EXPECT_EQ(s.last_error, "body does not contain 'ok'");
}

TEST(HealthCheckerTest, ResponseCompleteByContentLengthNeedsNoClose) {
  // The server keeps the connection open after a complete response: Content-Length tells.
  TestServer server(
      false, always(Reply{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", Reply::Then::hold}));
  ASSERT_TRUE(server.ok());
  HealthCheckConfig check = http_check();
  check.expect_body = "ok";
  check.timeout_ms = 5000;
  HealthChecker checker;
  checker.set_targets({target(server, check)});
  Clock::time_point start = Clock::now();
  EXPECT_EQ(run_checks(checker, 1).state, HealthState::up);
  EXPECT_LT(Clock::now() - start, 4s);  // well before the timeout
}

TEST(HealthCheckerTest, AServerThatNeverAnswersTimesOut) {
  TestServer server(false, always(Reply{"", Reply::Then::hold}));
  ASSERT_TRUE(server.ok());
  HealthCheckConfig check = http_check();
  check.interval_ms = 200;
  check.timeout_ms = 100;
  HealthChecker checker;
  checker.set_targets({target(server, check)});
  Clock::time_point start = Clock::now();
  size_t most_in_flight = 0;
  ASSERT_TRUE(run_until(checker, [&] {
    most_in_flight = std::max(most_in_flight, checker.checks_in_flight());
    return status_of(checker, "b1")->checks >= 1;
  }));
  auto elapsed = Clock::now() - start;
  const HealthStatus& s = *status_of(checker, "b1");
  EXPECT_EQ(s.state, HealthState::down);
  EXPECT_EQ(s.last_error, "timeout after 100 ms (waiting for the response)");
  EXPECT_GE(elapsed, 100ms);  // not before the timeout
  EXPECT_LT(elapsed, 5s);     // and not long after it
  EXPECT_EQ(most_in_flight, 1u);
  EXPECT_EQ(checker.checks_in_flight(), 0u);  // the timed-out socket is closed
}

struct BadResponse {
  const char* what;
  Reply reply;
  const char* error;  // expected in last_error
};

TEST(HealthCheckerTest, BrokenServersFailTheCheckWithoutHarm) {
  std::string binary(200 * 1024, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7919 % 251);
  const BadResponse cases[] = {
      {"closes at once", Reply{""}, "connection closed without a response"},
      {"garbage", Reply{"garbage\x01\x02\r\n\r\n"}, "malformed HTTP status line 'garbage?\?'"},
      {"binary flood", Reply{binary}, "malformed HTTP status line"},
      {"half status line", Reply{"HTTP/1.1 20"},
       "response ended inside the status line 'HTTP/1.1 20'"},
      {"no blank line", Reply{"HTTP/1.1 200 OK\r\nServer: x\r\n"},
       "response ended inside the headers"},
      {"four-digit status", Reply{"HTTP/1.1 2000 OK\r\n\r\n"},
       "malformed HTTP status line 'HTTP/1.1 2000 OK'"},
      {"letters for status", Reply{"HTTP/1.1 abc\r\n\r\n"}, "malformed HTTP status line"},
      {"status 0", Reply{"HTTP/1.1 000 Zero\r\n\r\n"}, "malformed HTTP status line"},
      {"not HTTP", Reply{"SSH-2.0-OpenSSH_9.2\r\n"}, "malformed HTTP status line 'SSH-2.0"},
      {"short body", Reply{"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort"},
       "response body ended after 5 of 10 bytes"},
      {"reset", Reply{"", Reply::Then::reset}, ""},
      {"reset mid-headers", Reply{"HTTP/1.1 200 OK\r\nServ", Reply::Then::reset}, ""},
      {"endless headers", Reply{"HTTP/1.1 200 OK\r\n" + std::string(100 * 1024, 'h')},
       "no end of the headers in 64 KiB"},
      {"endless status line", Reply{"HTTP/1.1 200 " + std::string(100 * 1024, 'h')},
       "no end of the status line in 64 KiB"},
  };
  for (const BadResponse& c : cases) {
    SCOPED_TRACE(c.what);
    TestServer server(false, always(c.reply));
    ASSERT_TRUE(server.ok());
    HealthChecker checker;
    checker.set_targets({target(server, http_check())});
    const HealthStatus& s = run_checks(checker, 1);
    EXPECT_EQ(s.state, HealthState::down);
    EXPECT_EQ(s.failures, 1u);
    EXPECT_NE(s.last_error, "");
    EXPECT_NE(s.last_error.find(c.error), std::string::npos) << s.last_error;
    EXPECT_EQ(s.last_error.find('\n'), std::string::npos) << s.last_error;
    EXPECT_EQ(checker.checks_in_flight(), 0u);
  }
}

TEST(HealthCheckerTest, UnusualButValidResponsesPass) {
  std::string big_body = "ok" + std::string(200 * 1024, 'x');
  const Reply cases[] = {
      Reply{"HTTP/1.0 200 OK\n\nok"},                                // bare LF line ends
      Reply{"HTTP/1.1 200\r\n\r\nok"},                               // no reason phrase
      Reply{"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA"},  // body beyond the length
      Reply{"HTTP/1.1 200 OK\r\n\r\n" + big_body},                   // judged on the first 64 KiB
      Reply{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", Reply::Then::reset},
  };
  for (const Reply& reply : cases) {
    SCOPED_TRACE(reply.bytes.substr(0, 40));
    TestServer server(false, always(reply));
    ASSERT_TRUE(server.ok());
    HealthCheckConfig check = http_check();
    check.expect_body = "ok";
    HealthChecker checker;
    checker.set_targets({target(server, check)});
    const HealthStatus& s = run_checks(checker, 1);
    EXPECT_EQ(s.state, HealthState::up) << s.last_error;
  }
}

TEST(HealthCheckerTest, SetTargetsKeepsTheStateOfUnchangedTargets) {
  TestServer server(false, always(Reply{}));
  ClosedPort closed;
  ASSERT_TRUE(server.ok());
  HealthChecker checker;
  HealthTarget a = target(server, tcp_check(), "a");
  checker.set_targets({a});
  const HealthStatus before = run_checks(checker, 2, nullptr, "a");
  ASSERT_EQ(before.state, HealthState::up);

  HealthTarget b = target(ip("127.0.0.1"), closed.port(), tcp_check(), "b");
  checker.set_targets({b, a, a});  // a duplicate is ignored
  EXPECT_EQ(checker.target_count(), 2u);
  const HealthStatus* kept = status_of(checker, "a");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->state, HealthState::up);
  EXPECT_EQ(kept->checks, before.checks);
  EXPECT_EQ(kept->successes_in_row, before.successes_in_row);
  EXPECT_EQ(kept->last_change, before.last_change);
  ASSERT_NE(status_of(checker, "b"), nullptr);
  EXPECT_EQ(status_of(checker, "b")->state, HealthState::unknown);
  std::vector<HealthReport> report = checker.report();
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0].target.backend.service, "b");
  EXPECT_EQ(report[1].target.backend.service, "a");
  EXPECT_EQ(report[1].status.state, HealthState::up);

  // A changed check configuration is a new target.
  HealthTarget a_changed = a;
  a_changed.check.rise = 2;
  checker.set_targets({a_changed});
  EXPECT_EQ(status_of(checker, "b"), nullptr);
  ASSERT_NE(status_of(checker, "a"), nullptr);
  EXPECT_EQ(status_of(checker, "a")->state, HealthState::unknown);
  EXPECT_EQ(status_of(checker, "a")->checks, 0u);

  // The same back-end in another service is another target.
  HealthTarget other = a;
  other.backend.service = "other";
  checker.set_targets({a, other});
  EXPECT_EQ(checker.target_count(), 2u);
  EXPECT_NE(status_of(checker, "other"), nullptr);
  EXPECT_NE(status_of(checker, "a"), nullptr);
}

TEST(HealthCheckerTest, RemovedTargetsCloseTheirSockets) {
  TestServer server(false, always(Reply{"", Reply::Then::hold}));
  ASSERT_TRUE(server.ok());
  HealthCheckConfig check = http_check();
  check.timeout_ms = 60'000;
  HealthChecker checker;
  checker.set_targets({target(server, check, "a"), target(server, check, "b")});
  ASSERT_TRUE(run_until(checker, [&] { return checker.checks_in_flight() == 2; }));
  checker.set_targets({target(server, check, "a")});
  EXPECT_EQ(checker.checks_in_flight(), 1u);  // a's check goes on
  checker.set_targets({});
  EXPECT_EQ(checker.checks_in_flight(), 0u);
  EXPECT_TRUE(checker.step(Clock::now()).empty());
}

TEST(HealthCheckerTest, ChecksStartEveryIntervalFromThePreviousStart) {
  // A fake clock for the schedule; the sockets are real, so each instant is stepped until the
  // checks it started have finished.
  TestServer server(false, always(Reply{}));
  ASSERT_TRUE(server.ok());
  HealthCheckConfig check = tcp_check();
  check.interval_ms = 1000;
  check.timeout_ms = 1000;
  constexpr int kTargets = 20;
  std::vector<HealthTarget> targets;
  for (int i = 0; i < kTargets; ++i) targets.push_back(target(server, check, std::to_string(i)));
  HealthChecker checker;
  checker.set_targets(targets);
  auto started = [&] {
    uint64_t total = checker.checks_in_flight();
    for (const HealthReport& r : checker.report()) total += r.status.checks;
    return total;
  };
  auto settle = [&](Clock::time_point at) {
    checker.step(at);
    uint64_t starts = started();
    Clock::time_point end = Clock::now() + 10s;
    while (checker.checks_in_flight() > 0 && Clock::now() < end) {
      std::this_thread::sleep_for(1ms);
      checker.step(at);
    }
    EXPECT_EQ(started(), starts) << "a check started at an instant it was not due";
    return starts;
  };
  Clock::time_point t0 = Clock::now();
  EXPECT_EQ(settle(t0), uint64_t(kTargets));  // every new target at once
  EXPECT_EQ(settle(t0 + 949ms), uint64_t(kTargets));
  uint64_t middle = settle(t0 + 1000ms);  // ±5% jitter: some are due, some not (p ~ 2e-6)
  EXPECT_GT(middle, uint64_t(kTargets));
  EXPECT_LT(middle, uint64_t(2 * kTargets));
  EXPECT_EQ(settle(t0 + 1051ms), uint64_t(2 * kTargets));
  // The third checks are due 950..1050 ms after the second ones (t0 + 1000 or t0 + 1051).
  EXPECT_EQ(settle(t0 + 1949ms), uint64_t(2 * kTargets));
  EXPECT_EQ(settle(t0 + 2102ms), uint64_t(3 * kTargets));
  for (const HealthReport& r : checker.report()) EXPECT_EQ(r.status.state, HealthState::up);
}

TEST(HealthCheckerTest, ChecksOfOneTargetNeverOverlap) {
  // Timeout as long as the interval: the next check waits for the previous one to end.
  TestServer server(false, always(Reply{"", Reply::Then::hold}));
  ASSERT_TRUE(server.ok());
  HealthCheckConfig check = http_check();
  check.interval_ms = 100;
  check.timeout_ms = 100;
  HealthChecker checker;
  checker.set_targets({target(server, check)});
  Clock::time_point t0 = Clock::now();
  for (int ms = 0; ms <= 1000; ms += 10) {
    checker.step(t0 + std::chrono::milliseconds(ms));
    EXPECT_LE(checker.checks_in_flight(), 1u);
  }
  // Timed out at t0+100 (or later steps), never two at once, at most one start per 95 ms.
  const HealthStatus* s = status_of(checker, "b1");
  EXPECT_GE(s->checks, 4u);
  EXPECT_LE(s->checks, 11u);
  EXPECT_EQ(s->failures, s->checks);
}

TEST(HealthCheckerTest, NoFileDescriptorLeaks) {
  size_t before = open_fds();
  {
    TestServer up(false, always(Reply{}));
    TestServer http_ok(false, always(http("200 OK", "ok")));
    TestServer silent(false, always(Reply{"", Reply::Then::hold}));
    TestServer resets(false, always(Reply{"HTTP/1.1 200", Reply::Then::reset}));
    ClosedPort closed;
    ASSERT_TRUE(up.ok() && http_ok.ok() && silent.ok() && resets.ok());
    HealthCheckConfig slow = http_check();
    slow.timeout_ms = 30;
    HealthChecker checker;
    checker.set_targets({target(up, tcp_check(), "up"), target(http_ok, http_check(), "http"),
                         target(silent, slow, "silent"), target(resets, http_check(), "resets"),
                         target(ip("127.0.0.1"), closed.port(), tcp_check(), "closed")});
    ASSERT_TRUE(run_until(checker, [&] {
      EXPECT_LE(checker.checks_in_flight(), 5u);
      for (const HealthReport& r : checker.report()) {
        if (r.status.checks < 20) return false;
      }
      return true;
    }));
    std::map<std::string, HealthState> states;
    for (const HealthReport& r : checker.report())
      states[r.target.backend.service] = r.status.state;
    EXPECT_EQ(states["up"], HealthState::up);
    EXPECT_EQ(states["http"], HealthState::up);
    EXPECT_EQ(states["silent"], HealthState::down);
    EXPECT_EQ(states["resets"], HealthState::down);
    EXPECT_EQ(states["closed"], HealthState::down);
    // The checker itself holds at most one socket per target, whatever the number of checks.
    EXPECT_LE(open_fds(), before + 5 /*servers' listeners, closed port*/ + 5 /*checks*/ +
                              25 /*silent's held connections*/);
  }
  EXPECT_EQ(open_fds(), before);
}

TEST(HealthCheckerTest, TargetsFromTheConfiguration) {
  Config config;
  ServiceConfig plain;
  plain.name = "plain";
  plain.backends = {BackendConfig{ip("198.18.1.10"), 80}};
  ServiceConfig web;
  web.name = "web";
  HealthCheckConfig check;
  check.type = HealthCheckConfig::Type::http;
  web.health_check = check;
  web.backends = {BackendConfig{ip("198.18.1.11"), 80},
                  BackendConfig{ip("198.18.1.12"), 81, 1, true}};
  ServiceConfig dns;
  dns.name = "dns";
  HealthCheckConfig side_port;
  side_port.port = 8053;
  dns.health_check = side_port;
  dns.backends = {BackendConfig{ip("2001:2::11"), 53}};
  config.services = {plain, web, dns};

  std::vector<HealthTarget> targets = health_targets(config);
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0], (HealthTarget{{"web", ip("198.18.1.11"), 80}, 80, check}));
  EXPECT_EQ(targets[1], (HealthTarget{{"web", ip("198.18.1.12"), 81}, 81, check}));
  EXPECT_EQ(targets[2], (HealthTarget{{"dns", ip("2001:2::11"), 53}, 8053, side_port}));
}

TEST(HealthCheckerTest, TargetsFromTheExampleFile) {
  ConfigResult result =
      load_config_file(std::string(FAIRWAY_SOURCE_DIR) + "/tests/config/good/health_checks.yaml");
  ASSERT_TRUE(result) << result.error().message;
  std::vector<HealthTarget> targets = health_targets(*result);
  ASSERT_EQ(targets.size(), 5u);
  EXPECT_EQ(targets[0].backend.service, "web");
  EXPECT_EQ(targets[0].backend.endpoint(), "198.18.1.11:80");
  EXPECT_EQ(targets[0].port, 8080);
  EXPECT_EQ(targets[0].check.path, "/healthz");
  EXPECT_EQ(targets[1].backend.endpoint(), "198.18.1.12:80");  // drained, still checked
  EXPECT_EQ(targets[2].backend.service, "web-tcp");
  EXPECT_EQ(targets[2].port, 443);
  EXPECT_EQ(targets[3].backend.endpoint(), "[2001:2:0:2::11]:8000");
  EXPECT_EQ(targets[3].port, 8000);
  EXPECT_EQ(targets[3].check, HealthCheckConfig{});
  EXPECT_EQ(targets[4].backend.service, "dns");
  EXPECT_EQ(targets[4].port, 8053);
}

}  // namespace
}  // namespace fairway
