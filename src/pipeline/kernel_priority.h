#pragma once
// The exception path's classes: what goes to the kernel waits in one bounded queue per class and
// is served in this order, so that a flood of the last class (pings, SYNs or UDP at the box's own
// address, expiring TTLs) never holds back ARP, a BGP session, the control API, a health check or
// a ping of the box.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "packet/parse.h"
#include "pipeline/snapshot.h"

namespace fairway {

enum class KernelPriority : uint8_t {
  neighbor = 0,  // ARP and IPv6 neighbor/router discovery: without them nothing else flows
  control = 1,   // routing (BGP tcp/179, BFD udp/3784, 3785, 4784), the control API's port, and
                 // anything from a back-end (health-check answers, agents' reports)
  icmp = 2,      // ICMP and ICMPv6 (pings of the box, errors for its connections), served within
                 // exception_path.icmp_pps: a ping flood is shed here, not with the SYN floods
  other = 3,     // the rest, served within exception_path.other_pps
};
inline constexpr size_t kKernelPriorities = 4;
inline constexpr std::array<std::string_view, kKernelPriorities> kKernelPriorityNames = {
    "neighbor", "control", "icmp", "other"};

// The class of a frame the pipeline hands to the kernel; `p` as parse_frame() filled it (for
// a frame that did not parse as far as L4, its L3 alone decides).
KernelPriority kernel_priority(const Snapshot& snap, const ParsedPacket& p);

}  // namespace fairway
