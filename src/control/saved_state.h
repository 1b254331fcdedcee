#pragma once
// What the control API changes (services, their back-ends, deny lists) and the node's drain,
// kept across reloads and restarts. The configuration file stays the operator's: it is never
// rewritten. Instead the control core remembers the file's own version of what the API can
// change (`file`) next to the running one (`running`), and when the file is read again (a
// reload, a restart) each item the API changed is carried over onto the new file unless the
// file changed that same item too: then the file wins and the log says so. An item is a
// service's settings, one back-end of a service, or one prefix of a deny list. With
// `control.state_file` set the pair is also written there after every change, atomically, and
// applied at the next start (docs/OPERATIONS.md, "Changes that last").
#include <string>
#include <vector>

#include "control/config.h"
#include "util/result.h"

namespace fairway {

// The part of a configuration the API changes.
struct ApiPart {
  std::vector<ServiceConfig> services;
  std::vector<IpPrefix> deny_clients;  // the global list
  static ApiPart of(const Config& config) { return {config.services, config.deny_clients}; }
};

struct SavedState {
  ApiPart file;     // the file's version when it was last read
  ApiPart running;  // with the API's changes since
  bool drained = false;
};

struct Carried {
  ApiPart part;
  std::vector<std::string> conflicts;  // items changed both ways: "service web back-end ...: ..."
  size_t carried = 0;                  // items of the API's carried over onto the file
};

// The API's changes (`running` against `file`) applied onto `fresh` (the file read again).
Carried carry_api_changes(const SavedState& state, const ApiPart& fresh);

// `fresh` (a configuration just read from its file) with the API's changes of `state` carried
// over, validated as a whole like a file. When the result does not validate (an API service
// clashing with one added to the file, say) the file is taken alone and a warning says why.
struct Merged {
  Config config;
  size_t kept = 0;                    // items of the API's carried over
  std::vector<std::string> warnings;  // conflicts the file won; changes that no longer fit
};
Merged with_api_changes(const SavedState& state, const Config& fresh);

// The state file: YAML written by save_state_file(), read back against the configuration it
// belongs to (the services are read by the file's rules, against its ports).
std::string state_to_yaml(const SavedState& state);
Result<SavedState> load_state_file(const std::string& path, const Config& config);
bool save_state_file(const std::string& path, const SavedState& state, std::string& error);

}  // namespace fairway
