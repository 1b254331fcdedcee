#include "control/config_changes.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>

#include "control/config_loader.h"
#include "control/snapshot_builder.h"
#include "packet/parse.h"

namespace fairway {
namespace {

using config_detail::ConfigLoader;
using config_detail::Field;
using config_detail::LoadError;
using config_detail::service_text;

const std::string kBodySource = "request body";

ChangeResult fail(int status, std::string message) {
  return Error{std::move(message), status};
}

ChangeResult done(Config config, std::string summary) {
  return Change{std::move(config), std::move(summary)};
}

// JSON is YAML: the body goes through the file's reader, so its rules and messages are the same.
// Checked as JSON first, so that "not JSON" is said plainly rather than as a YAML error.
std::optional<YAML::Node> parse_body(const std::string& body, const std::string& example,
                                     std::string& error) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    error = "the body is not a JSON object; expected e.g. " + example;
    return std::nullopt;
  }
  try {
    return YAML::Load(body);
  } catch (const YAML::Exception& e) {
    error = config_detail::format_error(kBodySource, e.mark, "", e.msg);
    return std::nullopt;
  }
}

ServiceConfig* find_service(Config& config, const std::string& name) {
  for (ServiceConfig& s : config.services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ChangeResult unknown_service(const std::string& name) {
  return fail(404, "no service named '" + name + "'");
}

ChangeResult unknown_backend(const std::string& service, const std::string& backend) {
  return fail(404, "service '" + service + "' has no back-end '" + backend +
                       "' (expected ADDRESS:PORT, e.g. 198.18.1.11:80 or [2001:2::11]:80)");
}

// A nat back-end endpoint identifies the one service whose replies it sends.
std::optional<std::string> nat_owner(const Config& config, const BackendConfig& backend,
                                     uint8_t protocol, const std::string& except_service) {
  for (const ServiceConfig& s : config.services) {
    if (s.mode != ForwardingMode::nat || s.protocol != protocol || s.name == except_service) {
      continue;
    }
    for (const BackendConfig& b : s.backends) {
      if (b.address == backend.address && b.port == backend.port) return s.name;
    }
  }
  return std::nullopt;
}

std::optional<std::string> service_conflict(const Config& running, const ServiceConfig& added) {
  for (const ServiceConfig& s : running.services) {
    if (s.name == added.name) return "a service named '" + added.name + "' already exists";
    if (s.vip == added.vip && s.port == added.port && s.protocol == added.protocol) {
      return "service '" + s.name + "' already serves " +
             service_text(added.vip, added.port, added.protocol);
    }
  }
  if (added.mode == ForwardingMode::nat) {
    for (const BackendConfig& b : added.backends) {
      if (auto owner = nat_owner(running, b, added.protocol, added.name)) {
        return "back-end " + service_text(b.address, b.port, added.protocol) +
               " already belongs to nat service '" + *owner +
               "', expected each nat back-end endpoint in one nat service only";
      }
    }
  }
  return std::nullopt;
}

// Whether the API's text for a back-end ("ADDRESS:PORT", "[IPv6]:PORT") names `b`; compared as
// values, so that every spelling of an address works.
bool names(const std::string& text, const BackendConfig& b) {
  std::optional<EndpointText> named = parse_endpoint_text(text);
  return named && named->port && named->address == b.address && *named->port == b.port;
}

}  // namespace

ChangeResult add_service(const Config& running, const std::string& body) {
  std::string error;
  auto node = parse_body(body,
                         R"({"name": "web", "vip": "198.18.100.3", "port": 80, )"
                         R"("protocol": "tcp", "backends": [{"address": "198.18.1.11"}]})",
                         error);
  if (!node) return fail(400, error);
  // Read against the ports alone; conflicts with running services are reported separately (409).
  Config candidate = running;
  candidate.services.clear();
  try {
    ConfigLoader(candidate).read_one_service(Field(*node, YAML::Mark(), "", &kBodySource));
  } catch (const LoadError& e) {
    return fail(400, e.message());
  } catch (const YAML::Exception& e) {
    return fail(400, config_detail::format_error(kBodySource, e.mark, "", e.msg));
  }
  ServiceConfig added = std::move(candidate.services.front());
  added.line = 0;  // not from the file
  if (auto conflict = service_conflict(running, added)) return fail(409, *conflict);
  Config next = running;
  std::string summary = "added service " + added.name + " (" +
                        service_text(added.vip, added.port, added.protocol) + ", " +
                        std::to_string(added.backends.size()) + " back-ends)";
  next.services.push_back(std::move(added));
  return done(std::move(next), summary);
}

ChangeResult remove_service(const Config& running, const std::string& name) {
  Config next = running;
  auto it = std::find_if(next.services.begin(), next.services.end(),
                         [&](const ServiceConfig& s) { return s.name == name; });
  if (it == next.services.end()) return unknown_service(name);
  next.services.erase(it);
  return done(std::move(next), "removed service " + name);
}

ChangeResult change_deny_list(const Config& running, const std::string& service,
                              const std::string& prefix_text, bool add) {
  std::optional<IpPrefix> prefix = IpPrefix::parse(prefix_text);
  if (!prefix) {
    if (auto address = IpAddress::parse(prefix_text)) {
      prefix = IpPrefix{*address, static_cast<uint8_t>(address->is_v4() ? 32 : 128)};
    }
  }
  if (!prefix) {
    return fail(400,
                "prefix: '" + prefix_text +
                    "' is not an address prefix; expected e.g. 198.18.9.0/24 or 2001:2:9::/48");
  }
  Config next = running;
  std::vector<IpPrefix>* list = &next.deny_clients;
  std::string where = "the global deny list";
  if (!service.empty()) {
    ServiceConfig* target = find_service(next, service);
    if (target == nullptr) return unknown_service(service);
    list = &target->deny_clients;
    where = "the deny list of service " + service;
  }
  auto it = std::find(list->begin(), list->end(), *prefix);
  if (add) {
    if (it != list->end()) return fail(409, prefix->to_string() + " is already in " + where);
    list->push_back(*prefix);
    return done(std::move(next), "added " + prefix->to_string() + " to " + where);
  }
  if (it == list->end()) return fail(404, prefix->to_string() + " is not in " + where);
  list->erase(it);
  return done(std::move(next), "removed " + prefix->to_string() + " from " + where);
}

ChangeResult add_backend(const Config& running, const std::string& service,
                         const std::string& body) {
  Config next = running;
  ServiceConfig* target = find_service(next, service);
  if (target == nullptr) return unknown_service(service);
  std::string error;
  auto node = parse_body(body, R"({"address": "198.18.1.14", "weight": 2})", error);
  if (!node) return fail(400, error);
  BackendConfig added;
  try {
    Config scratch = running;
    added = ConfigLoader(scratch).read_one_backend(Field(*node, YAML::Mark(), "", &kBodySource),
                                                   *target);
  } catch (const LoadError& e) {
    return fail(400, e.message());
  } catch (const YAML::Exception& e) {
    return fail(400, config_detail::format_error(kBodySource, e.mark, "", e.msg));
  }
  std::string key = endpoint_text(added.address, added.port);
  for (const BackendConfig& b : target->backends) {
    if (b.address == added.address && b.port == added.port) {
      return fail(409, "service '" + service + "' already has back-end " + key);
    }
  }
  if (target->mode == ForwardingMode::nat) {
    if (auto owner = nat_owner(running, added, target->protocol, service)) {
      return fail(409, "back-end " + service_text(added.address, added.port, target->protocol) +
                           " already belongs to nat service '" + *owner +
                           "', expected each nat back-end endpoint in one nat service only");
    }
  }
  if (target->table_size <= target->backends.size() + 1) {
    return fail(409, "service '" + service + "' has table_size " +
                         std::to_string(target->table_size) +
                         ", which must stay greater than its number of back-ends");
  }
  target->backends.push_back(added);
  return done(std::move(next), "added back-end " + key + " to service " + service + " (weight " +
                                   std::to_string(added.weight) + ")");
}

ChangeResult remove_backend(const Config& running, const std::string& service,
                            const std::string& backend) {
  Config next = running;
  ServiceConfig* target = find_service(next, service);
  if (target == nullptr) return unknown_service(service);
  auto it = std::find_if(target->backends.begin(), target->backends.end(),
                         [&](const BackendConfig& b) { return names(backend, b); });
  if (it == target->backends.end()) return unknown_backend(service, backend);
  if (target->backends.size() == 1) {
    return fail(409, "back-end " + backend + " is the last of service '" + service +
                         "'; add another first, or remove the service");
  }
  target->backends.erase(it);
  return done(std::move(next), "removed back-end " + backend + " from service " + service);
}

ChangeResult change_backend(const Config& running, const std::string& service,
                            const std::string& backend, const BackendChange& change) {
  Config next = running;
  ServiceConfig* target = find_service(next, service);
  if (target == nullptr) return unknown_service(service);
  for (BackendConfig& b : target->backends) {
    if (!names(backend, b)) continue;
    if (change.weight) b.weight = *change.weight;
    if (change.drain) b.drained = *change.drain;
    return done(std::move(next), "service " + service + " back-end " + backend + ": weight " +
                                     std::to_string(b.weight) +
                                     (b.drained ? ", drained" : ", in service"));
  }
  return unknown_backend(service, backend);
}

ChangeResult reload(const Config& running, const ConfigResult& fresh) {
  if (!fresh) return fail(400, fresh.error().message);
  const Config& next = *fresh;
  const std::string& file = next.source_path;
  auto restart_only = [&](const char* field) {
    return fail(400, file + ": " + field +
                         ": changed, but it takes effect only at start-up; restart fairwayd, or "
                         "put it back to reload the rest (the running configuration is unchanged)");
  };
  if (next.workers != running.workers) return restart_only("workers");
  if (next.polling.adaptive != running.polling.adaptive) return restart_only("workers_poll");
  if (next.polling.idle_ms != running.polling.idle_ms) return restart_only("workers_idle");
  if (!(next.announce == running.announce)) return restart_only("announce");
  if (!(next.flow_sync == running.flow_sync)) return restart_only("flow_sync");
  if (next.mbufs != running.mbufs) return restart_only("mbufs");
  if (!(next.eal == running.eal)) return restart_only("eal");
  if (next.flow_capacity != running.flow_capacity) return restart_only("flow_table.capacity");
  if (!(next.fragments == running.fragments)) return restart_only("fragments");
  if (!(next.ports == running.ports)) return restart_only("ports");
  if (!(next.exception_path == running.exception_path)) return restart_only("exception_path");
  if (next.control_listen != running.control_listen ||
      next.control_token != running.control_token || next.state_file != running.state_file) {
    return restart_only("control");
  }
  return done(next, "reloaded " + file + ": " + std::to_string(next.services.size()) + " services");
}

}  // namespace fairway
