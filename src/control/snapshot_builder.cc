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

Service build_service(const ServiceConfig& config, uint32_t id,
                      const BackendOverrides& overrides) {
  Service service;
  service.id = id;
  service.name = config.name;
  service.vip = config.vip;
  service.port = config.port;
  service.protocol = config.protocol;
  service.mode = config.mode;
  service.missing_flow = config.missing_flow;
  std::vector<std::string> keys;
  keys.reserve(config.backends.size());
  for (const BackendConfig& b : config.backends) {
    keys.push_back(backend_key(b.address, b.port));
    Backend backend{b.address, b.port, b.weight, false};
    auto o = overrides.find({config.name, keys.back()});
    if (o != overrides.end()) {
      backend.weight = o->second.weight.value_or(b.weight);
      backend.drained = o->second.drained;
    }
    service.backends.push_back(backend);
  }
  std::vector<MaglevBackend> maglev_input;
  for (size_t i = 0; i < keys.size(); ++i) {
    const Backend& b = service.backends[i];
    maglev_input.push_back(MaglevBackend{keys[i], b.drained ? 0 : b.weight});
  }
  service.maglev = build_maglev_table(maglev_input, config.table_size);
  return service;
}

void add_services(const Config& config, const BackendOverrides& overrides, Snapshot& snap) {
  for (const ServiceConfig& sc : config.services) {
    uint32_t id = static_cast<uint32_t>(snap.services.size());
    snap.services.push_back(build_service(sc, id, overrides));
    snap.service_by_endpoint[Endpoint{sc.vip, sc.port, sc.protocol}] = id;
    snap.address_roles[sc.vip].vip = true;
    if (sc.mode == ForwardingMode::nat) {
      for (const BackendConfig& b : sc.backends) {
        snap.nat_service_by_backend[Endpoint{b.address, b.port, sc.protocol}] = id;
      }
    }
  }
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
      const Route* route = snap.find_route(backend.address);
      if (route == nullptr || route->port >= snap.ports.size()) continue;
      const Neighbor* neighbor =
          snap.find_neighbor(route->has_gateway ? route->gateway : backend.address);
      if (neighbor == nullptr) continue;
      snap.backend_next_hops[backend.address] = NextHop{route->port, neighbor->mac};
    }
  }
}

}  // namespace

std::string backend_key(const IpAddress& address, uint16_t port) {
  std::string key = address.is_v4() ? address.to_string() : '[' + address.to_string() + ']';
  key += ':';
  key += std::to_string(port);
  return key;
}

std::unique_ptr<Snapshot> build_snapshot(const Config& config,
                                         const std::vector<RuntimePort>& ports,
                                         const KernelState& kernel, uint64_t version,
                                         const BackendOverrides& overrides) {
  auto snap = std::make_unique<Snapshot>();
  snap->version = version;
  for (const RuntimePort& port : ports) {
    snap->ports.push_back(PortInfo{port.name, port.mac, port.exception_path});
  }
  add_services(config, overrides, *snap);
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
  snap->timeouts = config.timeouts;
  snap->answer_echo = config.answer_echo;
  snap->udp_port_unreachable = config.udp_port_unreachable;
  return snap;
}

}  // namespace fairway
