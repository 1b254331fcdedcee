#include "control/netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <vector>

namespace fairway {
namespace {

using AttrTable = std::vector<const struct nlattr*>;

int collect_attr(const struct nlattr* attr, void* data) {
  auto* table = static_cast<AttrTable*>(data);
  uint16_t type = mnl_attr_get_type(attr);
  if (type < table->size()) (*table)[type] = attr;
  return MNL_CB_OK;
}

bool read_ip(const struct nlattr* attr, uint8_t family, IpAddress& out) {
  if (attr == nullptr) return false;
  const auto* bytes = static_cast<const uint8_t*>(mnl_attr_get_payload(attr));
  uint16_t length = mnl_attr_get_payload_len(attr);
  if (family == AF_INET && length == 4) {
    out = IpAddress::from_v4(bytes);
    return true;
  }
  if (family == AF_INET6 && length == 16) {
    out = IpAddress::from_v6(bytes);
    return true;
  }
  return false;
}

}  // namespace

Netlink::Netlink() {
  socket_ = mnl_socket_open(NETLINK_ROUTE);
  if (socket_ == nullptr || mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0) {
    error_ = std::string("netlink socket: ") + std::strerror(errno);
    if (socket_ != nullptr) mnl_socket_close(socket_);
    socket_ = nullptr;
    return;
  }
  port_id_ = mnl_socket_get_portid(socket_);
  sequence_ = static_cast<uint32_t>(std::time(nullptr));
}

Netlink::~Netlink() {
  if (socket_ != nullptr) mnl_socket_close(socket_);
}

bool Netlink::request(struct nlmsghdr* message) {
  message->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  message->nlmsg_seq = ++sequence_;
  if (mnl_socket_sendto(socket_, message, message->nlmsg_len) < 0) {
    error_ = std::string("netlink send: ") + std::strerror(errno);
    return false;
  }
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  ssize_t received = mnl_socket_recvfrom(socket_, buffer, sizeof buffer);
  if (received < 0 ||
      mnl_cb_run(buffer, received, message->nlmsg_seq, port_id_, nullptr, nullptr) < 0) {
    error_ = std::string("netlink: ") + std::strerror(errno);
    return false;
  }
  return true;
}

template <typename Visit>
bool Netlink::dump_kind(uint16_t type, uint8_t family, Visit&& visit) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* message = mnl_nlmsg_put_header(buffer);
  message->nlmsg_type = type;
  message->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message->nlmsg_seq = ++sequence_;
  auto* generic =
      static_cast<struct rtgenmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(struct rtmsg)));
  generic->rtgen_family = family;
  if (mnl_socket_sendto(socket_, message, message->nlmsg_len) < 0) {
    error_ = std::string("netlink dump: ") + std::strerror(errno);
    return false;
  }
  std::function<void(const struct nlmsghdr*)> visitor = visit;
  auto callback = [](const struct nlmsghdr* m, void* data) -> int {
    (*static_cast<std::function<void(const struct nlmsghdr*)>*>(data))(m);
    return MNL_CB_OK;
  };
  uint32_t sequence = message->nlmsg_seq;
  for (;;) {
    ssize_t received = mnl_socket_recvfrom(socket_, buffer, sizeof buffer);
    if (received < 0) {
      error_ = std::string("netlink dump: ") + std::strerror(errno);
      return false;
    }
    int status = mnl_cb_run(buffer, received, sequence, port_id_, callback, &visitor);
    if (status == MNL_CB_STOP) return true;
    if (status < 0) {
      error_ = std::string("netlink dump: ") + std::strerror(errno);
      return false;
    }
  }
}

bool Netlink::dump(KernelState& out) {
  out = KernelState{};
  bool ok = dump_kind(RTM_GETROUTE, AF_UNSPEC, [&](const struct nlmsghdr* m) {
    const auto* rt = static_cast<const struct rtmsg*>(mnl_nlmsg_get_payload(m));
    if (rt->rtm_type != RTN_UNICAST) return;
    AttrTable attrs(RTA_MAX + 1, nullptr);
    mnl_attr_parse(m, sizeof(*rt), collect_attr, &attrs);
    uint32_t table = attrs[RTA_TABLE] ? mnl_attr_get_u32(attrs[RTA_TABLE]) : rt->rtm_table;
    if (table != RT_TABLE_MAIN || attrs[RTA_OIF] == nullptr) return;
    KernelRoute route;
    if (attrs[RTA_DST] != nullptr) {
      if (!read_ip(attrs[RTA_DST], rt->rtm_family, route.prefix.address)) return;
    } else {
      uint8_t zero[16] = {};
      route.prefix.address =
          rt->rtm_family == AF_INET ? IpAddress::from_v4(zero) : IpAddress::from_v6(zero);
      if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) return;
    }
    route.prefix.length = rt->rtm_dst_len;
    route.ifindex = mnl_attr_get_u32(attrs[RTA_OIF]);
    route.has_gateway = read_ip(attrs[RTA_GATEWAY], rt->rtm_family, route.gateway);
    route.priority = attrs[RTA_PRIORITY] ? mnl_attr_get_u32(attrs[RTA_PRIORITY]) : 0;
    out.routes.push_back(route);
  });
  ok = ok && dump_kind(RTM_GETNEIGH, AF_UNSPEC, [&](const struct nlmsghdr* m) {
         const auto* nd = static_cast<const struct ndmsg*>(mnl_nlmsg_get_payload(m));
         constexpr uint16_t kUsable =
             NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
         if ((nd->ndm_state & kUsable) == 0) return;
         AttrTable attrs(NDA_MAX + 1, nullptr);
         mnl_attr_parse(m, sizeof(*nd), collect_attr, &attrs);
         KernelNeighbor neighbor;
         if (!read_ip(attrs[NDA_DST], nd->ndm_family, neighbor.address)) return;
         if (attrs[NDA_LLADDR] == nullptr || mnl_attr_get_payload_len(attrs[NDA_LLADDR]) != 6)
           return;
         std::memcpy(neighbor.mac.bytes.data(), mnl_attr_get_payload(attrs[NDA_LLADDR]), 6);
         neighbor.ifindex = static_cast<uint32_t>(nd->ndm_ifindex);
         out.neighbors.push_back(neighbor);
       });
  ok = ok && dump_kind(RTM_GETADDR, AF_UNSPEC, [&](const struct nlmsghdr* m) {
         const auto* ifa = static_cast<const struct ifaddrmsg*>(mnl_nlmsg_get_payload(m));
         AttrTable attrs(IFA_MAX + 1, nullptr);
         mnl_attr_parse(m, sizeof(*ifa), collect_attr, &attrs);
         KernelAddress address;
         const struct nlattr* local = attrs[IFA_LOCAL] ? attrs[IFA_LOCAL] : attrs[IFA_ADDRESS];
         if (!read_ip(local, ifa->ifa_family, address.address)) return;
         address.ifindex = ifa->ifa_index;
         out.addresses.push_back(address);
       });
  return ok;
}

bool Netlink::set_link_up(uint32_t ifindex) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* message = mnl_nlmsg_put_header(buffer);
  message->nlmsg_type = RTM_NEWLINK;
  auto* info =
      static_cast<struct ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(struct ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = static_cast<int>(ifindex);
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  return request(message);
}

bool Netlink::add_address(uint32_t ifindex, const IpPrefix& prefix) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* message = mnl_nlmsg_put_header(buffer);
  message->nlmsg_type = RTM_NEWADDR;
  message->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* ifa =
      static_cast<struct ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(struct ifaddrmsg)));
  bool v4 = prefix.address.is_v4();
  ifa->ifa_family = v4 ? AF_INET : AF_INET6;
  ifa->ifa_prefixlen = prefix.length;
  ifa->ifa_index = ifindex;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  const void* bytes = v4 ? prefix.address.v4_bytes() : prefix.address.bytes.data();
  size_t length = v4 ? 4 : 16;
  mnl_attr_put(message, IFA_LOCAL, length, bytes);
  mnl_attr_put(message, IFA_ADDRESS, length, bytes);
  // No duplicate address detection: the address is ours by configuration, usable at once.
  if (!v4) mnl_attr_put_u32(message, IFA_FLAGS, IFA_F_NODAD);
  return request(message);
}

bool Netlink::resolve_neighbor(uint32_t ifindex, const IpAddress& address) {
  char buffer[MNL_SOCKET_BUFFER_SIZE];
  struct nlmsghdr* message = mnl_nlmsg_put_header(buffer);
  message->nlmsg_type = RTM_NEWNEIGH;
  message->nlmsg_flags = NLM_F_CREATE;
  auto* nd = static_cast<struct ndmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(struct ndmsg)));
  bool v4 = address.is_v4();
  nd->ndm_family = v4 ? AF_INET : AF_INET6;
  nd->ndm_ifindex = static_cast<int>(ifindex);
  nd->ndm_state = NUD_NONE;
  nd->ndm_flags = NTF_USE;
  mnl_attr_put(message, NDA_DST, v4 ? 4 : 16, v4 ? address.v4_bytes() : address.bytes.data());
  return request(message);
}

}  // namespace fairway
