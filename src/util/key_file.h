#pragma once
// Shared secrets read from a file: the agents' report key (fairway-agent --key-file and
// load_feedback.key_file) and the SYN cookies' secret (syn_cookies.key_file). One reader, one
// rule: the file's bytes without trailing whitespace (an editor's or echo's final newline).
#include <string>

#include "util/result.h"

namespace fairway {

struct KeyFile {
  std::string key;      // the file's bytes without trailing whitespace and newlines
  std::string warning;  // e.g. readable by group or others; empty when none
};

// The error says "cannot read 'PATH': why", or that the file is empty.
Result<KeyFile> load_key_file(const std::string& path);

// `text` without trailing spaces, tabs, CR, LF, VT and FF.
std::string strip_trailing_whitespace(std::string text);

}  // namespace fairway
