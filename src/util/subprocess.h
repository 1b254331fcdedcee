#pragma once
// Runs a program and waits for it, bounded: its standard output and error are captured, and it
// is killed when it outlives the timeout. For short control commands (birdc), never the hot path.
#include <chrono>
#include <string>
#include <vector>

namespace fairway {

struct CommandResult {
  bool started = false;  // false: could not be run at all (see output)
  bool timed_out = false;
  int exit_code = -1;  // the exit status; -1 when killed by a signal or not started
  std::string output;  // standard output and error, at most 64 KB

  bool ok() const { return started && !timed_out && exit_code == 0; }
};

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace fairway
