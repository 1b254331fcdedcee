#pragma once
// Run-time changes to the running configuration: the control API's adds, removes and back-end
// changes, and reloads. Each takes the running configuration and returns a new candidate or an
// error; the running configuration itself is never touched here, so a refused change changes
// nothing. Services and back-ends are read by the same rules as the file at start-up, and the
// errors name the field ("request body:1:31: backends[0].weight: ...").
#include <optional>
#include <string>

#include "control/config.h"

namespace fairway {

// A change to one back-end of one service.
struct BackendChange {
  std::optional<uint32_t> weight;  // 0..65535
  std::optional<bool> drain;
};

// An accepted change. A refused one is an Error with the status the API answers: 400 malformed
// or invalid, 404 unknown service or back-end, 409 conflict.
struct Change {
  Config config;        // the new running configuration
  std::string summary;  // for the log: "added service web (198.18.100.1:80/tcp)"
};
using ChangeResult = Result<Change>;

// `body` is a JSON object with the keys of one entry of `services` (docs/CONFIG.md).
ChangeResult add_service(const Config& running, const std::string& body);
ChangeResult remove_service(const Config& running, const std::string& name);
// `body` is a JSON object with the keys of one entry of a service's `backends`.
ChangeResult add_backend(const Config& running, const std::string& service,
                         const std::string& body);
// `backend` is the back-end as the API names it, "ADDRESS:PORT" or "[IPv6]:PORT" (endpoint_text()).
ChangeResult remove_backend(const Config& running, const std::string& service,
                            const std::string& backend);
ChangeResult change_backend(const Config& running, const std::string& service,
                            const std::string& backend, const BackendChange& change);

// A deny-list change: `prefix` ("198.18.9.0/24", "2001:2:9::/48", or an address alone) is added
// to or removed from the deny list of `service`, or of every service when `service` is empty.
// 400 for a bad prefix, 404 for an unknown service or (remove) a prefix not in the list, 409 for
// (add) one already there.
ChangeResult change_deny_list(const Config& running, const std::string& service,
                              const std::string& prefix, bool add);

// A reload: `fresh` is the file loaded again (with its own errors, if any). Sections that only
// take effect at start-up (workers, mbufs, eal, flow_table.capacity, ports, control) must be
// unchanged; everything else (services, routes, neighbors, timeouts, icmp) is taken as it is.
ChangeResult reload(const Config& running, const ConfigResult& fresh);

}  // namespace fairway
