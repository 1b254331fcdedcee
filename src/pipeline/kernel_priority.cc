#include "pipeline/kernel_priority.h"

namespace fairway {
namespace {

constexpr uint16_t kBgpPort = 179;
constexpr uint16_t kBfdControlPort = 3784;
constexpr uint16_t kBfdEchoPort = 3785;
constexpr uint16_t kBfdMultihopPort = 4784;
constexpr uint8_t kRouterSolicitation = 133;
constexpr uint8_t kRedirect = 137;  // 133..137: RS, RA, NS, NA, redirect

bool is_routing_protocol(const ParsedPacket& p) {
  if (p.l4_protocol == kProtoTcp) return p.src_port == kBgpPort || p.dst_port == kBgpPort;
  if (p.l4_protocol == kProtoUdp) {
    return p.dst_port == kBfdControlPort || p.dst_port == kBfdEchoPort ||
           p.dst_port == kBfdMultihopPort;
  }
  return false;
}

}  // namespace

KernelPriority kernel_priority(const Snapshot& snap, const ParsedPacket& p) {
  if (p.l3 == L3Kind::arp) return KernelPriority::neighbor;
  if (p.l3 != L3Kind::ipv4 && p.l3 != L3Kind::ipv6) return KernelPriority::other;
  if (p.l4_protocol == kProtoIcmpv6 && !p.is_later_fragment && p.icmp_type >= kRouterSolicitation &&
      p.icmp_type <= kRedirect) {
    return KernelPriority::neighbor;
  }
  if (p.is_later_fragment) return KernelPriority::other;
  if (p.l4_protocol == kProtoIcmp || p.l4_protocol == kProtoIcmpv6) return KernelPriority::icmp;
  if (is_routing_protocol(p)) return KernelPriority::control;
  if (snap.control_api_port != 0 && p.l4_protocol == kProtoTcp &&
      p.dst_port == snap.control_api_port) {
    return KernelPriority::control;
  }
  // Health checks are the box's own connections to back-ends; agents report from them.
  if (snap.role_of(p.src).backend) return KernelPriority::control;
  return KernelPriority::other;
}

}  // namespace fairway
