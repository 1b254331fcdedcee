#include "control/neighbor_targets.h"

#include <gtest/gtest.h>

#include "control/snapshot_builder.h"

namespace fairway {
namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

TEST(NeighborTargets, BackendsOnLinkAndGatewaysOnceEach) {
  // 198.18.1.11 and .12 on the server port's subnet, 198.18.5.20 behind the gateway .1.254 (as
  // is the default route's gateway on the client side, 198.18.0.254); .1.12's MAC is known.
  ConfigResult r = load_config_string(
      "ports:\n"
      "  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
      "  - {name: server, device: dev1, addresses: [198.18.1.1/24]}\n"
      "neighbors:\n"
      "  - {address: 198.18.1.12, mac: \"02:00:00:00:01:0c\", port: server}\n"
      "routes:\n"
      "  - {prefix: 198.18.5.0/24, via: 198.18.1.254, port: server}\n"
      "  - {prefix: 0.0.0.0/0, via: 198.18.0.254, port: client}\n"
      "services:\n"
      "  - name: web\n"
      "    vip: 198.18.100.1\n"
      "    port: 80\n"
      "    protocol: tcp\n"
      "    mode: nat\n"
      "    backends: [{address: 198.18.1.11}, {address: 198.18.1.12}, {address: 198.18.5.20},\n"
      "               {address: 198.18.5.21}]\n",
      "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  const std::vector<RuntimePort> ports = {{"client", MacAddress{}, true, 7},
                                          {"server", MacAddress{}, true, 8}};
  auto snap = build_snapshot(*r, ports, {}, 1);
  const std::vector<NeighborTarget> targets = neighbor_targets(*snap);
  const std::vector<NeighborTarget> expected = {
      {ip("198.18.0.254"), 0, false},  // the default route's gateway
      {ip("198.18.1.11"), 1, false},
      {ip("198.18.1.12"), 1, true},
      {ip("198.18.1.254"), 1, false},  // for .5.20 and .5.21, and its own route: once
  };
  EXPECT_EQ(targets, expected);
}

TEST(NeighborTargets, AnEmptySnapshotNeedsNothing) {
  Snapshot empty;
  EXPECT_TRUE(neighbor_targets(empty).empty());
}

}  // namespace
}  // namespace fairway
