#include "control/saved_state.h"

#include <algorithm>
#include <map>

#include "control/bird_announcer.h"
#include "control/config_loader.h"
#include "control/config_writer.h"

namespace fairway {
namespace {

using config_detail::ConfigLoader;
using config_detail::Field;
using config_detail::LoadError;

// A service's own settings: everything but its back-ends and deny list, which are items of
// their own.
bool same_settings(const ServiceConfig& a, const ServiceConfig& b) {
  return a.name == b.name && a.vip == b.vip && a.port == b.port && a.protocol == b.protocol &&
         a.mode == b.mode && a.missing_flow == b.missing_flow && a.table_size == b.table_size &&
         a.health_check == b.health_check && a.on_backend_down == b.on_backend_down &&
         a.scheduler == b.scheduler && a.least_load == b.least_load && a.pools == b.pools &&
         a.syn_proxy == b.syn_proxy;
}

bool same_backend(const BackendConfig& a, const BackendConfig& b) {
  return a.address == b.address && a.port == b.port && a.weight == b.weight &&
         a.drained == b.drained && a.capacity == b.capacity;
}

template <typename T, typename Equal>
bool same(const T* a, const T* b, Equal equal) {
  return a == nullptr || b == nullptr ? a == b : equal(*a, *b);
}

// The three-way choice for one item: the file's new version unless only the API changed it.
enum class Side { fresh, running };
struct Pick {
  Side side = Side::fresh;
  bool api_changed = false;  // the running version differs from the file's old one
  bool conflict = false;     // and the file changed it too, differently
};

template <typename T, typename Equal>
Pick pick(const T* file, const T* running, const T* fresh, Equal equal) {
  Pick p;
  p.api_changed = !same(file, running, equal);
  if (!p.api_changed) return p;
  const bool file_changed = !same(file, fresh, equal);
  if (!file_changed || same(running, fresh, equal)) {
    p.side = Side::running;
    return p;
  }
  p.conflict = true;
  return p;
}

const ServiceConfig* named(const std::vector<ServiceConfig>& services, const std::string& name) {
  auto it = std::find_if(services.begin(), services.end(),
                         [&](const ServiceConfig& s) { return s.name == name; });
  return it == services.end() ? nullptr : &*it;
}

const BackendConfig* backend_of(const ServiceConfig* service, const BackendConfig& key) {
  if (service == nullptr) return nullptr;
  for (const BackendConfig& b : service->backends) {
    if (b.address == key.address && b.port == key.port) return &b;
  }
  return nullptr;
}

const std::vector<IpPrefix>* deny_of(const ServiceConfig* service) {
  return service == nullptr ? nullptr : &service->deny_clients;
}

// One deny list, prefix by prefix. `where` names it in conflicts (none can happen: a prefix is
// in or out, so two changes away from the old state agree).
std::vector<IpPrefix> carry_deny(const std::vector<IpPrefix>* file,
                                 const std::vector<IpPrefix>* running,
                                 const std::vector<IpPrefix>* fresh, size_t& carried) {
  auto has = [](const std::vector<IpPrefix>* list, const IpPrefix& p) {
    return list != nullptr && std::find(list->begin(), list->end(), p) != list->end();
  };
  std::vector<IpPrefix> keys;
  for (const auto* list : {fresh, running}) {
    if (list == nullptr) continue;
    for (const IpPrefix& p : *list) {
      if (std::find(keys.begin(), keys.end(), p) == keys.end()) keys.push_back(p);
    }
  }
  std::vector<IpPrefix> out;
  for (const IpPrefix& p : keys) {
    const bool in_file = has(file, p), in_running = has(running, p), in_fresh = has(fresh, p);
    const bool api_changed = in_file != in_running;
    if (api_changed && in_running != in_fresh) ++carried;
    if (api_changed ? in_running : in_fresh) out.push_back(p);
  }
  return out;
}

void carry_service(const std::string& name, const SavedState& state, const ApiPart& fresh,
                   Carried& out) {
  const ServiceConfig* file = named(state.file.services, name);
  const ServiceConfig* running = named(state.running.services, name);
  const ServiceConfig* now = named(fresh.services, name);
  const Pick settings = pick(file, running, now, same_settings);
  if (settings.conflict) {
    out.conflicts.push_back("service " + name +
                            ": changed through the API and in the file; the file's version "
                            "is taken");
  }
  const ServiceConfig* chosen = settings.side == Side::running ? running : now;
  if (settings.api_changed && settings.side == Side::running && !same(running, now, same_settings))
    ++out.carried;
  if (chosen == nullptr) return;
  // Removed through the API but kept (changed) in the file: the file's service whole.
  if (running == nullptr) {
    out.part.services.push_back(*chosen);
    return;
  }
  ServiceConfig service = *chosen;
  service.backends.clear();
  std::vector<const BackendConfig*> keys;
  for (const ServiceConfig* s : {now, running}) {
    if (s == nullptr) continue;
    for (const BackendConfig& b : s->backends) {
      if (std::none_of(keys.begin(), keys.end(), [&](const BackendConfig* k) {
            return k->address == b.address && k->port == b.port;
          })) {
        keys.push_back(&b);
      }
    }
  }
  for (const BackendConfig* key : keys) {
    const BackendConfig* f = backend_of(file, *key);
    const BackendConfig* r = backend_of(running, *key);
    const BackendConfig* n = backend_of(now, *key);
    const Pick p = pick(f, r, n, same_backend);
    if (p.conflict) {
      out.conflicts.push_back("service " + name + " back-end " +
                              endpoint_text(key->address, key->port) +
                              ": changed through the API and in the file; the file's version "
                              "is taken");
    }
    if (p.api_changed && p.side == Side::running && !same(r, n, same_backend)) ++out.carried;
    const BackendConfig* b = p.side == Side::running ? r : n;
    if (b != nullptr) service.backends.push_back(*b);
  }
  service.deny_clients = carry_deny(deny_of(file), deny_of(running), deny_of(now), out.carried);
  out.part.services.push_back(std::move(service));
}

// Reads a saved ApiPart by the file's rules, against `config`'s ports and settings.
ApiPart read_part(const Field& field, const Config& config) {
  config_detail::MapReader map = field.map({"services", "deny_clients"});
  Config scratch = config;
  scratch.services.clear();
  ApiPart part;
  if (auto f = map.get("services")) {
    ConfigLoader loader(scratch);
    for (const Field& item : f->items()) loader.read_one_service(item);
  }
  part.services = std::move(scratch.services);
  if (auto f = map.get("deny_clients")) {
    for (const Field& item : f->items()) part.deny_clients.push_back(item.prefix());
  }
  return part;
}

std::string prefix_list(const std::vector<IpPrefix>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    out += (i ? ", \"" : "\"") + list[i].to_string() + "\"";
  }
  return out + "]";
}

std::string part_to_yaml(const char* key, const ApiPart& part) {
  std::string out =
      std::string(key) + ":\n  deny_clients: " + prefix_list(part.deny_clients) + "\n";
  if (part.services.empty()) return out + "  services: []\n";
  return out + "  services:\n" + services_to_yaml(part.services, 4);
}

}  // namespace

Carried carry_api_changes(const SavedState& state, const ApiPart& fresh) {
  Carried out;
  std::vector<std::string> names;
  for (const auto* list : {&fresh.services, &state.running.services}) {
    for (const ServiceConfig& s : *list) {
      if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
    }
  }
  for (const std::string& name : names) carry_service(name, state, fresh, out);
  out.part.deny_clients = carry_deny(&state.file.deny_clients, &state.running.deny_clients,
                                     &fresh.deny_clients, out.carried);
  return out;
}

Merged with_api_changes(const SavedState& state, const Config& fresh) {
  Carried carried = carry_api_changes(state, ApiPart::of(fresh));
  Merged out{fresh, 0, std::move(carried.conflicts)};
  if (carried.carried == 0) return out;
  Config candidate = fresh;
  candidate.services = std::move(carried.part.services);
  candidate.deny_clients = std::move(carried.part.deny_clients);
  // Validated as a whole, as the file would be: an API service may clash with one the file
  // gained since, for instance.
  ConfigResult check =
      load_config_string(config_to_yaml(candidate), fresh.source_path + " with the API's changes");
  if (!check) {
    out.warnings.push_back("the API's changes no longer fit the file and are dropped: " +
                           check.error().message);
    return out;
  }
  out.config = std::move(candidate);
  out.kept = carried.carried;
  return out;
}

std::string state_to_yaml(const SavedState& state) {
  return "# fairwayd's runtime state, written after every change made through the control API.\n"
         "# Not for editing: change the configuration file or use fairwayctl.\n"
         "version: 1\n"
         "drained: " +
         std::string(state.drained ? "true" : "false") + "\n" + part_to_yaml("file", state.file) +
         part_to_yaml("running", state.running);
}

Result<SavedState> load_state_file(const std::string& path, const Config& config) {
  try {
    YAML::Node document = YAML::LoadFile(path);
    Field root(document, YAML::Mark(), "", &path);
    config_detail::MapReader map = root.map({"version", "drained", "file", "running"});
    map.require("version", "1").uint(1, 1);
    SavedState state;
    if (auto f = map.get("drained")) state.drained = f->boolean();
    state.file = read_part(map.require("file", "the file's services"), config);
    state.running = read_part(map.require("running", "the running services"), config);
    return state;
  } catch (const LoadError& e) {
    return Error{e.message()};
  } catch (const YAML::BadFile&) {
    return Error{path + ": cannot be read"};
  } catch (const YAML::Exception& e) {
    return Error{config_detail::format_error(path, e.mark, "", e.msg)};
  }
}

bool save_state_file(const std::string& path, const SavedState& state, std::string& error) {
  return write_file_atomically(path, state_to_yaml(state), error);
}

}  // namespace fairway
