#include "control/health_checker.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "control/snapshot_builder.h"

namespace fairway {
namespace {

using Clock = std::chrono::steady_clock;

// What is read of a response at most; a longer body is judged on its first 64 KiB.
constexpr size_t kMaxResponseBytes = 64 * 1024;
constexpr size_t kReadChunk = 4096;

std::string errno_text(std::string_view call, int error) {
  return std::string(call) + ": " + std::strerror(error);
}

// A piece of what a server sent, quoted for a one-line message: non-printable bytes as '?'.
std::string snippet(std::string_view text) {
  std::string out;
  for (char ch : text.substr(0, 40)) {
    auto byte = static_cast<unsigned char>(ch);
    out += byte >= 0x20 && byte < 0x7f ? ch : '?';
  }
  return "'" + out + (text.size() > 40 ? "...'" : "'");
}

bool is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

char lower(char ch) {
  return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// "HTTP/1.1 200 OK" -> 200; nullopt unless "HTTP/<digit>.<digit> <3 digits>" then end or a space.
std::optional<uint16_t> parse_status_line(std::string_view line) {
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || !is_digit(line[5]) || line[6] != '.' ||
      !is_digit(line[7]) || line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) ||
      !is_digit(line[11])) {
    return std::nullopt;
  }
  if (line.size() > 12 && line[12] != ' ') return std::nullopt;
  auto status =
      static_cast<uint16_t>((line[9] - '0') * 100 + (line[10] - '0') * 10 + line[11] - '0');
  if (status < 100) return std::nullopt;
  return status;
}

// The Content-Length of a header block (the lines after the status line), if it has a valid one.
std::optional<size_t> content_length(std::string_view headers) {
  constexpr std::string_view kName = "content-length:";
  while (!headers.empty()) {
    size_t eol = headers.find('\n');
    std::string_view line = headers.substr(0, eol);
    headers.remove_prefix(eol == std::string_view::npos ? headers.size() : eol + 1);
    if (line.size() < kName.size()) continue;
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) match = lower(line[i]) == kName[i];
    if (!match) continue;
    std::string_view value = trim(line.substr(kName.size()));
    if (value.empty() || value.size() > 12) return std::nullopt;
    size_t length = 0;
    for (char ch : value) {
      if (!is_digit(ch)) return std::nullopt;
      length = length * 10 + static_cast<size_t>(ch - '0');
    }
    return length;
  }
  return std::nullopt;
}

enum class ReadEnd : uint8_t {
  more,   // the connection is open, more may come
  eof,    // the server closed its side
  limit,  // kMaxResponseBytes read: judge what is there
};

struct CheckOutcome {
  bool success = false;
  std::string error;
};

// Judges an HTTP response read so far; nullopt when it cannot tell yet.
std::optional<CheckOutcome> judge_http(std::string_view response, ReadEnd end,
                                       const HealthCheckConfig& check) {
  bool ended = end != ReadEnd::more;
  size_t eol = response.find('\n');
  if (eol == std::string_view::npos) {
    if (!ended) return std::nullopt;
    if (response.empty()) return CheckOutcome{false, "connection closed without a response"};
    if (end == ReadEnd::limit) return CheckOutcome{false, "no end of the status line in 64 KiB"};
    return CheckOutcome{false, "response ended inside the status line " + snippet(response)};
  }
  std::string_view line = response.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto status = parse_status_line(line);
  if (!status) return CheckOutcome{false, "malformed HTTP status line " + snippet(line)};
  if (*status != check.expect_status) {
    return CheckOutcome{false, "HTTP status " + std::to_string(*status) + ", expected " +
                                   std::to_string(check.expect_status)};
  }
  // The headers end with an empty line; tolerate bare LF line ends.
  std::string_view rest = response.substr(eol + 1);
  size_t blank = std::string_view::npos, skip = 0;
  if (rest.starts_with("\r\n") || rest.starts_with("\n")) {
    blank = 0, skip = rest[0] == '\r' ? 2 : 1;
  } else if (size_t crlf = rest.find("\r\n\r\n"), lf = rest.find("\n\n");
             crlf != std::string_view::npos || lf != std::string_view::npos) {
    if (crlf < lf) {
      blank = crlf, skip = 4;
    } else {
      blank = lf, skip = 2;
    }
  }
  if (blank == std::string_view::npos) {
    if (!ended) return std::nullopt;
    if (end == ReadEnd::limit) return CheckOutcome{false, "no end of the headers in 64 KiB"};
    return CheckOutcome{false, "response ended inside the headers"};
  }
  std::string_view body = rest.substr(blank + skip);
  auto length = content_length(rest.substr(0, blank));
  if (length && body.size() >= *length) {
    body = body.substr(0, *length);
  } else if (!ended) {
    return std::nullopt;  // until the server closes (HTTP/1.0, Connection: close)
  } else if (length && end == ReadEnd::eof) {
    return CheckOutcome{false, "response body ended after " + std::to_string(body.size()) + " of " +
                                   std::to_string(*length) + " bytes"};
  }
  if (!check.expect_body.empty() && body.find(check.expect_body) == std::string_view::npos) {
    return CheckOutcome{false, "body does not contain " + snippet(check.expect_body)};
  }
  return CheckOutcome{true, ""};
}

// The Host header when the check names none: the back-end's address, and its port unless 80.
std::string default_host(const IpAddress& address, uint16_t port) {
  // Appends rather than operator+ chains: GCC 12 at -O3 warns (-Wrestrict) on those.
  std::string host;
  if (!address.is_v4()) host.push_back('[');
  host.append(address.to_string());
  if (!address.is_v4()) host.push_back(']');
  if (port != 80) {
    host.push_back(':');
    host.append(std::to_string(port));
  }
  return host;
}

std::string http_request(const HealthTarget& target) {
  const HealthCheckConfig& check = target.check;
  std::string host =
      check.host.empty() ? default_host(target.backend.address, target.port) : check.host;
  std::string request = "GET ";
  request.append(check.path);
  request.append(" HTTP/1.0\r\nHost: ");
  request.append(host);
  request.append("\r\nUser-Agent: fairway-health\r\nConnection: close\r\n\r\n");
  return request;
}

// Fills `storage` with the target's socket address; returns its length.
socklen_t socket_address(const IpAddress& address, uint16_t port, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof storage);
  if (address.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, address.v4_bytes(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, address.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

}  // namespace

// One check in flight: owns its socket.
struct HealthChecker::Probe {
  enum class Phase : uint8_t { connecting, sending, receiving };

  explicit Probe(int socket) : fd(socket) {}
  ~Probe() { ::close(fd); }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  const char* phase_name() const {
    switch (phase) {
      case Phase::connecting:
        return "connecting";
      case Phase::sending:
        return "sending the request";
      case Phase::receiving:
        return response.empty() ? "waiting for the response" : "reading the response";
    }
    return "?";
  }

  int fd;
  Phase phase = Phase::connecting;
  Clock::time_point deadline;
  std::string request;  // http only
  size_t sent = 0;
  std::string response;
};

struct HealthChecker::Target {
  HealthTarget target;
  HealthStatus status;
  bool started = false;          // a check has been started since the target was added
  Clock::time_point next_start;  // when started: the next check is due then
  std::unique_ptr<Probe> probe;  // the check in flight, if any
};

const char* health_state_name(HealthState state) {
  switch (state) {
    case HealthState::unknown:
      return "unknown";
    case HealthState::up:
      return "up";
    case HealthState::down:
      return "down";
  }
  return "?";
}

std::vector<HealthTarget> health_targets(const Config& config) {
  std::vector<HealthTarget> targets;
  for (const ServiceConfig& service : config.services) {
    if (!service.health_check) continue;
    const HealthCheckConfig& check = *service.health_check;
    for (const BackendConfig& backend : service.backends) {
      targets.push_back(HealthTarget{BackendId::of(service.name, backend),
                                     check.port ? check.port : backend.port, check});
    }
  }
  return targets;
}

HealthChecker::HealthChecker()
    : random_(static_cast<uint32_t>(Clock::now().time_since_epoch().count())) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::set_targets(std::vector<HealthTarget> targets) {
  std::map<BackendId, std::unique_ptr<Target>> previous;
  for (std::unique_ptr<Target>& t : targets_) previous.emplace(t->target.backend, std::move(t));
  targets_.clear();
  by_key_.clear();
  for (HealthTarget& wanted : targets) {
    BackendId key = wanted.backend;
    if (by_key_.contains(key)) continue;
    std::unique_ptr<Target> entry;
    auto kept = previous.find(key);
    if (kept != previous.end() && kept->second->target == wanted) {
      entry = std::move(kept->second);
    } else {
      entry = std::make_unique<Target>();
      entry->target = std::move(wanted);
      entry->status.last_change = Clock::now();
    }
    by_key_.emplace(std::move(key), entry.get());
    targets_.push_back(std::move(entry));
  }
  // What is left in `previous` is dropped here, closing its checks' sockets.
}

std::vector<HealthTransition> HealthChecker::step(Clock::time_point now) {
  std::vector<HealthTransition> transitions;
  for (std::unique_ptr<Target>& t : targets_) {
    if (!t->probe && (!t->started || now >= t->next_start)) {
      if (auto error = start_check(*t, now)) {
        finish_check(*t, false, std::move(*error), now, transitions);
      }
    }
  }

  std::vector<pollfd> fds;
  std::vector<Target*> owners;
  for (std::unique_ptr<Target>& t : targets_) {
    if (!t->probe) continue;
    short events = t->probe->phase == Probe::Phase::receiving ? POLLIN : POLLOUT;
    fds.push_back(pollfd{t->probe->fd, events, 0});
    owners.push_back(t.get());
  }
  // Zero timeout: never waits. EINTR or another failure just leaves the checks for the next step.
  if (!fds.empty() && ::poll(fds.data(), fds.size(), 0) > 0) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) advance(*owners[i], fds[i].revents, now, transitions);
    }
  }

  for (std::unique_ptr<Target>& t : targets_) {
    if (t->probe && now >= t->probe->deadline) {
      std::string error = "timeout after " + std::to_string(t->target.check.timeout_ms) + " ms (" +
                          t->probe->phase_name() + ")";
      finish_check(*t, false, std::move(error), now, transitions);
    }
  }
  return transitions;
}

std::optional<std::string> HealthChecker::start_check(Target& t, Clock::time_point now) {
  // The schedule runs from the start of each check; a check never overlaps the previous one.
  t.started = true;
  t.next_start = now + jittered_interval(t.target.check);
  const IpAddress& address = t.target.backend.address;
  int fd =
      ::socket(address.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_text("socket", errno);
  auto probe = std::make_unique<Probe>(fd);
  probe->deadline = now + std::chrono::milliseconds(t.target.check.timeout_ms);
  if (t.target.check.type == HealthCheckConfig::Type::http) probe->request = http_request(t.target);
  sockaddr_storage storage;
  socklen_t length = socket_address(address, t.target.port, storage);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0 &&
      errno != EINPROGRESS && errno != EINTR) {
    return errno_text("connect", errno);  // the probe's destructor closes the socket
  }
  // Connected at once (possible on loopback) or in progress: poll() reports writable either way.
  t.probe = std::move(probe);
  return std::nullopt;
}

void HealthChecker::advance(Target& t, short revents, Clock::time_point now,
                            std::vector<HealthTransition>& transitions) {
  Probe& p = *t.probe;
  if (p.phase == Probe::Phase::connecting) {
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    if (error == 0 && (revents & POLLOUT) == 0) error = ECONNABORTED;  // hang-up without a reason
    if (error != 0) return finish_check(t, false, errno_text("connect", error), now, transitions);
    if (t.target.check.type == HealthCheckConfig::Type::tcp) {
      return finish_check(t, true, "", now, transitions);
    }
    p.phase = Probe::Phase::sending;
  }

  if (p.phase == Probe::Phase::sending) {
    while (p.sent < p.request.size()) {
      ssize_t n = ::send(p.fd, p.request.data() + p.sent, p.request.size() - p.sent, MSG_NOSIGNAL);
      if (n >= 0) {
        p.sent += static_cast<size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;  // the rest when the socket is writable again
      } else if (errno != EINTR) {
        return finish_check(t, false, errno_text("send", errno), now, transitions);
      }
    }
    p.phase = Probe::Phase::receiving;
    return;  // the answer comes with a later poll()
  }

  ReadEnd end = ReadEnd::more;
  char buffer[kReadChunk];
  while (end == ReadEnd::more) {
    size_t room = kMaxResponseBytes - p.response.size();
    if (room == 0) {
      end = ReadEnd::limit;
      break;
    }
    ssize_t n = ::recv(p.fd, buffer, std::min(room, sizeof buffer), 0);
    if (n > 0) {
      p.response.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      end = ReadEnd::eof;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      // A reset after a response complete by its Content-Length (or with the wrong status) still
      // tells the answer; anything else is the error itself.
      int error = errno;
      auto verdict = judge_http(p.response, ReadEnd::more, t.target.check);
      if (verdict) return finish_check(t, verdict->success, verdict->error, now, transitions);
      return finish_check(t, false, errno_text("recv", error), now, transitions);
    }
  }
  auto verdict = judge_http(p.response, end, t.target.check);
  if (verdict) finish_check(t, verdict->success, std::move(verdict->error), now, transitions);
}

void HealthChecker::finish_check(Target& t, bool success, std::string error, Clock::time_point now,
                                 std::vector<HealthTransition>& transitions) {
  t.probe.reset();  // closes the socket
  HealthStatus& s = t.status;
  const HealthCheckConfig& check = t.target.check;
  constexpr uint32_t kMaxRun = std::numeric_limits<uint32_t>::max();
  HealthState before = s.state;
  std::string reason;
  ++s.checks;
  if (success) {
    s.failures_in_row = 0;
    if (s.successes_in_row < kMaxRun) ++s.successes_in_row;
    if (s.state != HealthState::up && s.successes_in_row >= check.rise) {
      s.state = HealthState::up;
      reason = check.rise == 1 ? "the check succeeded"
                               : std::to_string(check.rise) + " checks in a row succeeded";
    }
  } else {
    ++s.failures;
    s.successes_in_row = 0;
    if (s.failures_in_row < kMaxRun) ++s.failures_in_row;
    s.last_error = std::move(error);
    if (s.state != HealthState::down && s.failures_in_row >= check.fall) {
      s.state = HealthState::down;
      reason = check.fall == 1
                   ? s.last_error
                   : s.last_error + " (" + std::to_string(check.fall) + " checks in a row failed)";
    }
  }
  if (s.state != before) {
    s.last_change = now;
    transitions.push_back(HealthTransition{t.target.backend, before, s.state, std::move(reason)});
  }
}

Clock::duration HealthChecker::jittered_interval(const HealthCheckConfig& check) {
  // ±5% around the interval, drawn per check: targets added together drift apart instead of
  // firing in the same tick forever, and the average period stays the configured interval.
  uint64_t spread = check.interval_ms / 10;
  uint64_t offset = spread == 0 ? 0 : random_() % (spread + 1);
  return std::chrono::milliseconds(check.interval_ms - spread / 2 + offset);
}

const HealthStatus* HealthChecker::status(const BackendId& backend) const {
  auto it = by_key_.find(backend);
  return it == by_key_.end() ? nullptr : &it->second->status;
}

std::vector<HealthReport> HealthChecker::report() const {
  std::vector<HealthReport> out;
  out.reserve(targets_.size());
  for (const std::unique_ptr<Target>& t : targets_)
    out.push_back(HealthReport{t->target, t->status});
  return out;
}

size_t HealthChecker::checks_in_flight() const {
  return static_cast<size_t>(std::count_if(targets_.begin(), targets_.end(),
                                           [](const auto& t) { return t->probe != nullptr; }));
}

}  // namespace fairway
