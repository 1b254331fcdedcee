#pragma once
// Which back-end of which service: the key of everything the control core keeps per back-end
// (health, counter slot, least-load weight, the distributor's last round). A value: ordered,
// compared field by field, printed as the API and the logs name a back-end.
#include <compare>
#include <string>

#include "control/config.h"
#include "packet/addresses.h"

namespace fairway {

struct BackendId {
  std::string service;
  IpAddress address;
  uint16_t port = 0;

  template <typename Backend>  // BackendConfig, or a snapshot's Backend
  static BackendId of(const std::string& service, const Backend& backend) {
    return {service, backend.address, backend.port};
  }
  // "198.18.1.11:80" / "[2001:2::11]:80": the back-end within its service (API paths, Maglev).
  std::string endpoint() const { return endpoint_text(address, port); }
  friend bool operator==(const BackendId&, const BackendId&) = default;
  friend auto operator<=>(const BackendId&, const BackendId&) = default;
};

}  // namespace fairway
