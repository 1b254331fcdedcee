#pragma once
// A configuration written back as YAML that the loader reads again to the same configuration:
// what `fairwayctl config show` prints (the file plus the API's changes) and what the state
// file keeps. Secrets never appear: a key read from a file is written as its `key_file`, an
// inline one as a placeholder (kRedacted), so the text can be shown to anyone who may read the
// API and still passes `fairwayd --check`.
#include <string>
#include <vector>

#include "control/config.h"

namespace fairway {

inline constexpr const char* kRedacted = "REDACTED-inline-secret-not-shown";

// The whole configuration, every field written out (defaults included), sections in the order
// docs/CONFIG.md lists them.
std::string config_to_yaml(const Config& config);

// Only a list of services, as the value of a `services:` key indented by `indent` spaces.
std::string services_to_yaml(const std::vector<ServiceConfig>& services, int indent);

}  // namespace fairway
