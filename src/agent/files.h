#pragma once
// Reading the small text files the agent measures from (/proc, cgroup files, the key file).
#include <optional>
#include <string>

namespace fairway::agent {

// The whole file, or nullopt with `error` set to "PATH: strerror". Reads until EOF rather than
// trusting st_size, which is 0 for /proc and cgroup files. Files larger than `max_bytes` are an
// error: nothing the agent reads is that big, and a mistaken path must not eat its memory.
std::optional<std::string> read_file(const std::string& path, std::string& error,
                                     size_t max_bytes = 64 << 20);

bool file_exists(const std::string& path);

}  // namespace fairway::agent
