#pragma once
// Which VIPs this node announces to its routers (by BGP, through BIRD), and the BIRD
// configuration that says so. Pure functions of the running snapshot and the node's state.
//
// A VIP is announced while the node forwards it: not drained, and some accepting service on the
// VIP has a back-end that takes new flows (up, not drained, weight above 0). Otherwise it is
// withheld, with the reason.
#include <string>
#include <vector>

#include "packet/addresses.h"
#include "pipeline/snapshot.h"

namespace fairway {

struct WithheldVip {
  IpAddress vip;
  std::string reason;  // "node drained", "no back-end up"
};

struct AnnouncementPlan {
  std::vector<IpAddress> announced;  // sorted, unique
  std::vector<WithheldVip> withheld;
  friend bool operator==(const AnnouncementPlan&, const AnnouncementPlan&) = default;
};

AnnouncementPlan plan_announcements(const Snapshot& running, bool node_drained);

// The file fairwayd writes for bird.conf to include: the static protocols fairway_vips4 and
// fairway_vips6, one blackhole route per announced VIP (/32 or /128). BIRD exports them by BGP
// with this node as the next hop; the blackhole is never used for forwarding (Fairway's data
// plane has the VIP, BIRD's kernel protocol must not export these routes).
std::string bird_vip_protocols(const std::vector<IpAddress>& announced);

}  // namespace fairway
