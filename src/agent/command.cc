#include "agent/command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace fairway::agent {
namespace {

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// In the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_shell(const std::string& command, int stdout_fd) {
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the agent blocks SIGTERM/SIGINT; a child must not
  ::signal(SIGPIPE, SIG_DFL);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  ::dup2(stdout_fd, STDOUT_FILENO);
  ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
  ::_exit(127);
}

// Waits for `pid` until `deadline_ms`; kills its process group then. Returns the wait status,
// or -1 when it had to be killed.
int reap(pid_t pid, int64_t deadline_ms) {
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return status;
    if (monotonic_ms() >= deadline_ms) break;
    ::poll(nullptr, 0, 5);
  }
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

}  // namespace

CommandResult run_command(const std::string& command, int timeout_ms, size_t max_output) {
  CommandResult result;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.error = fmt::format("pipe: {}", std::strerror(errno));
    return result;
  }
  const int64_t deadline_ms = monotonic_ms() + timeout_ms;
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.error = fmt::format("fork: {}", std::strerror(errno));
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return result;
  }
  if (pid == 0) exec_shell(command, pipe_fds[1]);  // dup2 clears O_CLOEXEC on stdout
  ::setpgid(pid, pid);  // also here, so that kill(-pid) works even before the child ran
  ::close(pipe_fds[1]);

  std::string output;
  bool timed_out = false;
  bool too_long = false;
  for (;;) {
    const int64_t left_ms = deadline_ms - monotonic_ms();
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{.fd = pipe_fds[0], .events = POLLIN, .revents = 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // timeout: the next turn notices
    char buffer[4096];
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the command (and its children) closed stdout
    output.append(buffer, static_cast<size_t>(n));
    if (output.size() > max_output) {
      too_long = true;
      break;
    }
  }
  ::close(pipe_fds[0]);
  const int status = reap(pid, timed_out || too_long ? 0 : deadline_ms);
  if (too_long) {
    result.error = fmt::format("wrote more than {} bytes", max_output);
  } else if (timed_out || status == -1) {
    result.error = fmt::format("timed out after {} ms", timeout_ms);
  } else if (WIFSIGNALED(status)) {
    result.error = fmt::format("killed by signal {}", WTERMSIG(status));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    result.error = fmt::format("exited with status {}", WEXITSTATUS(status));
  } else {
    result.output = std::move(output);
  }
  return result;
}

}  // namespace fairway::agent
