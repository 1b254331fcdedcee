#pragma once
// The shared HMAC key, read from --key-file.
#include <optional>
#include <string>

namespace fairway::agent {

struct KeyResult {
  std::optional<std::string> key;  // the file's bytes without trailing whitespace and newlines
  std::string error;               // when !key: missing, unreadable or empty
  std::string warning;             // e.g. readable by group or others; empty when none
};

KeyResult load_key_file(const std::string& path);

// `text` without trailing spaces, tabs, CR and LF (an editor's or echo's final newline).
std::string strip_trailing_whitespace(std::string text);

}  // namespace fairway::agent
