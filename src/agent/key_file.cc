#include "agent/key_file.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "agent/files.h"

namespace fairway::agent {

std::string strip_trailing_whitespace(std::string text) {
  const size_t last = text.find_last_not_of(" \t\r\n\v\f");
  text.erase(last == std::string::npos ? 0 : last + 1);
  return text;
}

KeyResult load_key_file(const std::string& path) {
  KeyResult result;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    result.error = fmt::format("key file {}: {}", path, std::strerror(errno));
    return result;
  }
  if (!S_ISREG(st.st_mode)) {
    result.error = fmt::format("key file {}: not a regular file", path);
    return result;
  }
  std::string error;
  auto text = read_file(path, error, 64 << 10);
  if (!text) {
    result.error = "key file " + error;
    return result;
  }
  std::string key = strip_trailing_whitespace(std::move(*text));
  if (key.empty()) {
    result.error = fmt::format("key file {} is empty", path);
    return result;
  }
  if (st.st_mode & (S_IRGRP | S_IROTH)) {
    result.warning = fmt::format(
        "key file {} is readable by {} (mode {:04o}): anyone who can read it can report load for "
        "any back-end; chmod 600 it",
        path, (st.st_mode & S_IROTH) ? "everyone" : "its group", st.st_mode & 07777);
  }
  result.key = std::move(key);
  return result;
}

}  // namespace fairway::agent
