#pragma once
// What the control core mirrors from the kernel of the load balancer's namespace: the routes,
// neighbors and addresses of the TAP interfaces (the exception path). Interfaces are by index.
#include <cstdint>
#include <vector>

#include "packet/addresses.h"

namespace fairway {

struct KernelRoute {
  IpPrefix prefix;
  uint32_t ifindex = 0;
  bool has_gateway = false;
  IpAddress gateway;
  uint32_t priority = 0;  // kernel metric; lower wins among equal prefixes
  friend bool operator==(const KernelRoute&, const KernelRoute&) = default;
};

struct KernelNeighbor {
  IpAddress address;
  MacAddress mac;
  uint32_t ifindex = 0;
  friend bool operator==(const KernelNeighbor&, const KernelNeighbor&) = default;
};

struct KernelAddress {
  IpAddress address;
  uint32_t ifindex = 0;
  friend bool operator==(const KernelAddress&, const KernelAddress&) = default;
};

struct KernelState {
  std::vector<KernelRoute> routes;
  std::vector<KernelNeighbor> neighbors;  // only entries with a usable link-layer address
  std::vector<KernelAddress> addresses;
  friend bool operator==(const KernelState&, const KernelState&) = default;
};

}  // namespace fairway
