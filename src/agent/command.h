#pragma once
// Runs a shell command with a deadline and collects its standard output (--app-command).
#include <optional>
#include <string>

namespace fairway::agent {

struct CommandResult {
  std::optional<std::string> output;  // stdout, when the command exited 0 in time
  std::string error;                  // otherwise: "timed out after 500 ms", "exited with 2"...
};

// `/bin/sh -c command`, stdin from /dev/null, stderr inherited (its messages reach the agent's
// log). The command runs in its own process group, and the whole group is killed with SIGKILL
// when it has not finished after `timeout_ms`, so a hung script or its children never pile up.
// At most `max_output` bytes of output are kept; more is an error.
CommandResult run_command(const std::string& command, int timeout_ms, size_t max_output = 64 << 10);

}  // namespace fairway::agent
