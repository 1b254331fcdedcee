#include "util/key_file.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fairway {
namespace {

constexpr size_t kMaxKeyFileBytes = 64 << 10;  // a key; a mistaken path must not eat memory

}  // namespace

std::string strip_trailing_whitespace(std::string text) {
  const size_t last = text.find_last_not_of(" \t\r\n\v\f");
  text.erase(last == std::string::npos ? 0 : last + 1);
  return text;
}

Result<KeyFile> load_key_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Error{fmt::format("cannot read '{}': {}", path, std::strerror(errno))};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{fmt::format("cannot read '{}': not a regular file", path)};
  }
  if (static_cast<size_t>(st.st_size) > kMaxKeyFileBytes) {
    return Error{fmt::format("cannot read '{}': {} bytes, expected a key of at most {}", path,
                             st.st_size, kMaxKeyFileBytes)};
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  if (!in || !(bytes << in.rdbuf())) {
    if (st.st_size != 0) {
      return Error{fmt::format("cannot read '{}': {}", path, std::strerror(errno))};
    }
  }
  std::string key = strip_trailing_whitespace(bytes.str());
  if (key.empty()) {
    return Error{fmt::format("key file '{}' is empty", path)};
  }
  KeyFile result{std::move(key), {}};
  if (st.st_mode & (S_IRGRP | S_IROTH)) {
    result.warning = fmt::format(
        "key file {} is readable by {} (mode {:04o}): anyone who can read it can use the key; "
        "chmod 600 it",
        path, (st.st_mode & S_IROTH) ? "everyone" : "its group", st.st_mode & 07777);
  }
  return result;
}

}  // namespace fairway
