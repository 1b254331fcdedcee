#include "pipeline/snapshot.h"

namespace fairway {

const Route* Snapshot::find_route(const IpAddress& dst) const {
  for (const Route& route : routes) {
    if (route.prefix.contains(dst)) return &route;
  }
  return nullptr;
}

}  // namespace fairway
