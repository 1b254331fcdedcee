#pragma once
// rtnetlink through libmnl: the control core's view of, and hold on, the kernel side of the
// exception path. Control side only (blocking system calls).
#include <libmnl/libmnl.h>

#include <cstdint>
#include <string>

#include "control/kernel_state.h"

namespace fairway {

class Netlink {
 public:
  Netlink();
  ~Netlink();
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  bool ok() const { return socket_ != nullptr; }
  const std::string& last_error() const { return error_; }

  // Dumps main-table unicast routes, usable neighbors and addresses of all interfaces.
  bool dump(KernelState& out);
  bool set_link_up(uint32_t ifindex);
  bool add_address(uint32_t ifindex, const IpPrefix& prefix);
  // Asks the kernel to resolve `address` on `ifindex` (NTF_USE): ARP / NDP goes out through the
  // TAP and the data plane; the answer comes back the same way and shows up in dump().
  bool resolve_neighbor(uint32_t ifindex, const IpAddress& address);

 private:
  bool request(struct nlmsghdr* message);  // sends and waits for the ACK
  template <typename Visit>
  bool dump_kind(uint16_t type, uint8_t family, Visit&& visit);

  struct mnl_socket* socket_ = nullptr;
  uint32_t port_id_ = 0;
  uint32_t sequence_ = 1;
  std::string error_;
};

}  // namespace fairway
