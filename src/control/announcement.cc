#include "control/announcement.h"

#include <algorithm>
#include <map>

namespace fairway {
namespace {

bool takes_new_flows(const Backend& b) {
  return b.up && !b.drained && !b.removed && b.effective_weight > 0;
}

bool serves(const Service& service) {
  return service.accepting &&
         std::any_of(service.backends.begin(), service.backends.end(), takes_new_flows);
}

}  // namespace

AnnouncementPlan plan_announcements(const Snapshot& running, bool node_drained) {
  std::map<IpAddress, bool> vips;  // VIP -> some service on it serves
  for (const Service& service : running.services) {
    if (!service.accepting) continue;  // removed, kept for its flows: not a reason to announce
    vips[service.vip] = vips[service.vip] || serves(service);
  }
  AnnouncementPlan plan;
  for (const auto& [vip, serving] : vips) {
    if (node_drained) {
      plan.withheld.push_back({vip, "node drained"});
    } else if (!serving) {
      plan.withheld.push_back({vip, "no back-end up"});
    } else {
      plan.announced.push_back(vip);
    }
  }
  return plan;
}

std::string bird_vip_protocols(const std::vector<IpAddress>& announced) {
  std::string v4, v6;
  for (const IpAddress& vip : announced) {
    if (vip.is_v4()) {
      v4 += "  route " + vip.to_string() + "/32 blackhole;\n";
    } else {
      v6 += "  route " + vip.to_string() + "/128 blackhole;\n";
    }
  }
  return "# Written by fairwayd: the VIPs this node announces. Do not edit.\n"
         "protocol static fairway_vips4 {\n  ipv4;\n" +
         v4 + "}\nprotocol static fairway_vips6 {\n  ipv6;\n" + v6 + "}\n";
}

}  // namespace fairway
