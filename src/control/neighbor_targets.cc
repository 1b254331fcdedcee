#include "control/neighbor_targets.h"

#include <map>

namespace fairway {

std::vector<NeighborTarget> neighbor_targets(const Snapshot& snap) {
  std::vector<IpAddress> wanted;
  for (const Service& service : snap.services) {
    for (const Backend& backend : service.backends) wanted.push_back(backend.address);
  }
  for (const Route& route : snap.routes) {
    if (route.has_gateway) wanted.push_back(route.gateway);
  }
  std::map<IpAddress, NeighborTarget> targets;  // by next hop: a gateway serves many back-ends
  for (const IpAddress& address : wanted) {
    const Route* route = snap.find_route(address);
    if (route == nullptr || route->port >= snap.ports.size()) continue;
    const IpAddress next_hop = route->has_gateway ? route->gateway : address;
    targets.emplace(next_hop,
                    NeighborTarget{next_hop, route->port, snap.find_neighbor(next_hop) != nullptr});
  }
  std::vector<NeighborTarget> out;
  for (auto& [_, target] : targets) out.push_back(target);
  return out;
}

}  // namespace fairway
