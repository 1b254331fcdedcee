#include "control/snapshot_builder.h"

#include <algorithm>
#include <optional>

#include "lb/maglev.h"

namespace fairway {
namespace {

std::optional<uint16_t> port_of_ifindex(const std::vector<RuntimePort>& ports, uint32_t ifindex) {
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].tap_ifindex != 0 && ports[i].tap_ifindex == ifindex) {
      return static_cast<uint16_t>(i);
    }
  }
  return std::nullopt;
}

std::optional<uint16_t> port_by_name(const std::vector<RuntimePort>& ports,
                                     const std::string& name) {
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].name == name) return static_cast<uint16_t>(i);
  }
  return std::nullopt;
}

Backend make_backend(const BackendConfig& b, const std::string& service,
                     const RuntimeState& runtime) {
  Backend backend;
  backend.address = b.address;
  backend.port = b.port;
  backend.weight = b.weight;
  backend.drained = b.drained;
  const BackendId id = BackendId::of(service, b);
  backend.up = runtime.down.count(id) == 0;
  if (auto slot = runtime.stats_slots.find(id); slot != runtime.stats_slots.end()) {
    backend.stats_slot = slot->second;
  }
  return backend;
}

// Only back-ends in service, up and with a weight get new flows.
uint32_t scheduling_weight(const Backend& b, uint32_t weight) {
  return b.drained || !b.up || b.removed ? 0 : weight;
}

// One Maglev table over `service`'s back-ends; those `in_table` rejects get no slot.
template <typename Filter>
std::vector<uint16_t> maglev_over(const Service& service, uint32_t table_size, Filter in_table) {
  std::vector<std::string> keys;  // MaglevBackend holds views of these
  keys.reserve(service.backends.size());
  std::vector<MaglevBackend> input;
  for (const Backend& b : service.backends) {
    keys.push_back(endpoint_text(b.address, b.port));
    input.push_back(MaglevBackend{keys.back(), in_table(b) ? b.effective_weight : 0});
  }
  return build_maglev_table(input, table_size);
}

Service build_service(const ServiceConfig& config, uint32_t id, bool accepting,
                      const RuntimeState& runtime) {
  Service service;
  service.id = id;
  service.name = config.name;
  service.vip = config.vip;
  service.port = config.port;
  service.protocol = config.protocol;
  service.mode = config.mode;
  service.missing_flow = config.missing_flow;
  service.on_backend_down = config.on_backend_down;
  service.accepting = accepting;
  service.by_source = config.scheduler == Scheduler::source_hash;
  service.syn_proxy = config.syn_proxy;
  if (auto slot = runtime.service_stats_slots.find(config.name);
      slot != runtime.service_stats_slots.end()) {
    service.stats_slot = slot->second;
  }
  for (const IpPrefix& prefix : config.deny_clients) service.deny_clients.add(prefix);
  for (const BackendConfig& b : config.backends) {
    service.backends.push_back(make_backend(b, config.name, runtime));
  }
  if (auto retired = runtime.retired_backends.find(config.name);
      retired != runtime.retired_backends.end()) {
    for (const BackendConfig& b : retired->second) {
      Backend backend = make_backend(b, config.name, runtime);
      backend.removed = true;
      service.backends.push_back(backend);
    }
  }
  for (Backend& b : service.backends) {
    auto effective = runtime.effective_weights.find(BackendId::of(config.name, b));
    bool distributed =
        config.scheduler == Scheduler::least_load && effective != runtime.effective_weights.end();
    b.effective_weight = scheduling_weight(b, distributed ? effective->second : b.weight);
    if (!b.up && config.on_backend_down == BackendDownPolicy::reset) service.resets_flows = true;
  }
  service.maglev = maglev_over(service, config.table_size, [](const Backend&) { return true; });
  for (const ClientPoolConfig& pc : config.pools) {
    ClientPool pool{pc.name, pc.clients, {}};
    pool.maglev = maglev_over(service, config.table_size, [&](const Backend& b) {
      return std::find(pc.backends.begin(), pc.backends.end(), b.address) != pc.backends.end();
    });
    service.pools.push_back(std::move(pool));
  }
  return service;
}

void add_service(const ServiceConfig& sc, bool accepting, const RuntimeState& runtime,
                 Snapshot& snap) {
  Endpoint endpoint{sc.vip, sc.port, sc.protocol};
  if (snap.service_by_endpoint.count(endpoint) != 0) return;  // a retired one was replaced
  uint32_t id = static_cast<uint32_t>(snap.services.size());
  snap.services.push_back(build_service(sc, id, accepting, runtime));
  snap.service_by_endpoint[endpoint] = id;
  snap.address_roles[sc.vip].vip = true;
  if (sc.mode != ForwardingMode::nat) return;
  for (const Backend& b : snap.services.back().backends) {
    snap.address_roles[b.address].nat_backend = true;
    // A running back-end's claim on a nat endpoint (unique, the config checks) wins over the
    // claim of one kept only for its remaining flows.
    Endpoint backend_endpoint{b.address, b.port, sc.protocol};
    if (accepting && !b.removed) {
      snap.nat_service_by_backend[backend_endpoint] = NatSource{id, b.stats_slot};
    } else {
      snap.nat_service_by_backend.emplace(backend_endpoint, NatSource{id, b.stats_slot});
    }
  }
}

void add_services(const Config& config, const RuntimeState& runtime, Snapshot& snap) {
  for (const ServiceConfig& sc : config.services) add_service(sc, true, runtime, snap);
  for (const ServiceConfig& sc : runtime.retired_services) add_service(sc, false, runtime, snap);
}

void add_routes(const Config& config, const std::vector<RuntimePort>& ports,
                const KernelState& kernel, Snapshot& snap) {
  struct Ranked {
    Route route;
    uint32_t priority;
  };
  std::vector<Ranked> ranked;
  for (const RouteConfig& rc : config.routes) {
    auto port = port_by_name(ports, rc.port);
    if (!port) continue;
    Route route{rc.prefix, *port, rc.via.has_value(), rc.via.value_or(IpAddress{})};
    ranked.push_back({route, 0});  // static routes win among equal prefixes
  }
  // The ports' own subnets are on-link even without a kernel behind them (golden tests).
  for (size_t i = 0; i < config.ports.size() && i < ports.size(); ++i) {
    for (const IpPrefix& own : config.ports[i].addresses) {
      ranked.push_back({Route{own, static_cast<uint16_t>(i), false, IpAddress{}}, 0});
    }
  }
  for (const KernelRoute& kr : kernel.routes) {
    auto port = port_of_ifindex(ports, kr.ifindex);
    if (!port) continue;
    ranked.push_back({Route{kr.prefix, *port, kr.has_gateway, kr.gateway}, kr.priority + 1});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.route.prefix.mapped_length() != b.route.prefix.mapped_length()) {
      return a.route.prefix.mapped_length() > b.route.prefix.mapped_length();
    }
    return a.priority < b.priority;
  });
  for (const Ranked& r : ranked) snap.routes.push_back(r.route);
}

void add_neighbors(const Config& config, const std::vector<RuntimePort>& ports,
                   const KernelState& kernel, Snapshot& snap) {
  for (const KernelNeighbor& kn : kernel.neighbors) {
    auto port = port_of_ifindex(ports, kn.ifindex);
    if (port) snap.neighbors[kn.address] = Neighbor{kn.mac, *port};
  }
  for (const NeighborConfig& nc : config.neighbors) {
    auto port = port_by_name(ports, nc.port);
    if (port) snap.neighbors[nc.address] = Neighbor{nc.mac, *port};
  }
}

// Resolves each back-end's egress port and next-hop MAC once, here, instead of per packet.
void add_backend_next_hops(Snapshot& snap) {
  for (const Service& service : snap.services) {
    for (const Backend& backend : service.backends) {
      snap.address_roles[backend.address].backend = true;
      const Route* route = snap.find_route(backend.address);
      if (route == nullptr || route->port >= snap.ports.size()) continue;
      const Neighbor* neighbor =
          snap.find_neighbor(route->has_gateway ? route->gateway : backend.address);
      if (neighbor == nullptr) continue;
      snap.backend_next_hops[ServiceBackend{backend.address, backend.port, service.id}] =
          NextHop{route->port, neighbor->mac, backend.stats_slot};
    }
  }
}

}  // namespace

std::unique_ptr<Snapshot> build_snapshot(const Config& config,
                                         const std::vector<RuntimePort>& ports,
                                         const KernelState& kernel, uint64_t version,
                                         const RuntimeState& runtime) {
  auto snap = std::make_unique<Snapshot>();
  snap->version = version;
  for (const RuntimePort& port : ports) {
    snap->ports.push_back(PortInfo{port.name, port.mac, port.exception_path});
  }
  add_services(config, runtime, *snap);
  for (size_t i = 0; i < config.ports.size() && i < ports.size(); ++i) {
    for (const IpPrefix& own : config.ports[i].addresses) {
      snap->address_roles[own.address].local = true;
    }
  }
  for (const KernelAddress& ka : kernel.addresses) {
    auto port = port_of_ifindex(ports, ka.ifindex);
    if (port) snap->address_roles[ka.address].local = true;
  }
  add_routes(config, ports, kernel, *snap);
  add_neighbors(config, ports, kernel, *snap);
  add_backend_next_hops(*snap);
  for (Service& service : snap->services) service.vip_is_local = snap->role_of(service.vip).local;
  snap->timeouts = config.timeouts;
  snap->syn_cookie_key = runtime.syn_cookie_key;
  for (const IpPrefix& prefix : config.deny_clients) snap->deny_clients.add(prefix);
  for (Service& service : snap->services) {
    service.screens_clients = !snap->deny_clients.empty() || !service.deny_clients.empty();
  }
  snap->answer_echo = config.answer_echo;
  snap->udp_port_unreachable = config.udp_port_unreachable;
  snap->reassemble_fragments = config.fragments.enabled();
  if (auto api = parse_endpoint_text(config.control_listen); api && api->port) {
    snap->control_api_port = *api->port;
  }
  return snap;
}

}  // namespace fairway
