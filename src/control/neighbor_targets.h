#pragma once
// Which neighbors the data plane needs: every back-end's next hop (itself when on-link, else its
// route's gateway) and every gateway, with the port that reaches it and whether the snapshot
// already knows its MAC. The daemon asks the kernel to resolve (NTF_USE) those on a port with an
// exception path; the answer comes back through the kernel mirror.
#include <cstdint>
#include <vector>

#include "packet/addresses.h"
#include "pipeline/snapshot.h"

namespace fairway {

struct NeighborTarget {
  IpAddress address;   // what to resolve: a back-end or a gateway
  uint16_t port = 0;   // the snapshot's port index that reaches it
  bool known = false;  // the snapshot has its MAC
  friend bool operator==(const NeighborTarget&, const NeighborTarget&) = default;
};

// One target per distinct next hop, in address order; addresses without a route are left out.
std::vector<NeighborTarget> neighbor_targets(const Snapshot& snap);

}  // namespace fairway
