#include "pipeline/snapshot.h"

#include <cstring>

namespace fairway {

size_t IpAddressHash::operator()(const IpAddress& a) const {
  uint64_t hi, lo;
  std::memcpy(&hi, a.bytes.data(), 8);
  std::memcpy(&lo, a.bytes.data() + 8, 8);
  uint64_t h = (hi * 0x9e3779b97f4a7c15ULL) ^ (lo * 0xc2b2ae3d27d4eb4fULL);
  return static_cast<size_t>(h ^ (h >> 29));
}

size_t EndpointHash::operator()(const Endpoint& e) const {
  return IpAddressHash{}(e.address) ^ (size_t(e.port) << 8 | e.protocol) * 0x9e3779b1u;
}

const Service* Snapshot::find_service(const IpAddress& vip, uint16_t port,
                                      uint8_t protocol) const {
  auto it = service_by_endpoint.find(Endpoint{vip, port, protocol});
  return it == service_by_endpoint.end() ? nullptr : &services[it->second];
}

const Route* Snapshot::find_route(const IpAddress& dst) const {
  for (const Route& route : routes) {
    if (route.prefix.contains(dst)) return &route;
  }
  return nullptr;
}

AddressRole Snapshot::role_of(const IpAddress& address) const {
  auto it = address_roles.find(address);
  return it == address_roles.end() ? AddressRole{} : it->second;
}

const Neighbor* Snapshot::find_neighbor(const IpAddress& address) const {
  auto it = neighbors.find(address);
  return it == neighbors.end() ? nullptr : &it->second;
}

}  // namespace fairway
