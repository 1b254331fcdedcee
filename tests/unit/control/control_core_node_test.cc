// The node in a cluster: what it announces, drain and undrain, through the control core with a
// fake data plane (no DPDK).
#include <gtest/gtest.h>

#include "control/announcement.h"
#include "control/config_loader.h"
#include "control/control_core.h"
#include "fake_data_plane.h"

namespace fairway {
namespace {

using namespace std::chrono_literals;
using Clock = ControlCore::Clock;

constexpr const char* kConfig =
    "ports:\n"
    "  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
    "  - {name: server, device: dev1, addresses: [198.18.1.1/24]}\n"
    "services:\n"
    "  - {name: web, vip: 198.18.100.1, port: 80, protocol: tcp,\n"
    "     backends: [{address: 198.18.1.11}, {address: 198.18.1.12}]}\n"
    "  - {name: dns, vip: 198.18.100.1, port: 53, protocol: udp,\n"
    "     backends: [{address: 198.18.1.13}]}\n"
    "  - {name: web6, vip: \"2001:2:0:100::1\", port: 80, protocol: tcp,\n"
    "     backends: [{address: \"2001:2:0:1::11\"}]}\n";

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

struct NodeTest : ::testing::Test {
  void SetUp() override { core.start({}, start); }
  static Config config() {
    ConfigResult r = load_config_string(kConfig, "node.yaml");
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : Config{};
  }
  void drain_backend(const char* service, const char* backend, bool drain) {
    ApiResult r = core.apply(
        change_backend(core.config(), service, backend, BackendChange{std::nullopt, drain}));
    ASSERT_EQ(r.status, 200) << r.body.dump();
  }
  FakeDataPlane data_plane;
  ControlCore core{config(), data_plane};
  Clock::time_point start = Clock::now();
};

TEST_F(NodeTest, AnActiveNodeAnnouncesEveryVipOnce) {
  AnnouncementPlan plan = core.announcement_plan();
  EXPECT_EQ(plan.announced, (std::vector<IpAddress>{ip("198.18.100.1"), ip("2001:2:0:100::1")}));
  EXPECT_TRUE(plan.withheld.empty());
}

TEST_F(NodeTest, AVipIsAnnouncedWhileAnyOfItsServicesHasABackendUp) {
  drain_backend("web", "198.18.1.11:80", true);
  drain_backend("web", "198.18.1.12:80", true);
  // web has none left, but dns on the same VIP still serves.
  EXPECT_EQ(core.announcement_plan().announced.size(), 2u);
  drain_backend("dns", "198.18.1.13:53", true);
  AnnouncementPlan plan = core.announcement_plan();
  EXPECT_EQ(plan.announced, std::vector<IpAddress>{ip("2001:2:0:100::1")});
  ASSERT_EQ(plan.withheld.size(), 1u);
  EXPECT_EQ(plan.withheld[0].vip, ip("198.18.100.1"));
  EXPECT_EQ(plan.withheld[0].reason, "no back-end up");
}

TEST_F(NodeTest, DrainWithdrawsEverythingAndEndsWhenTheFlowsHaveEnded) {
  data_plane.worker_states[0].flows = 7;
  EXPECT_EQ(core.drain_node(60s, start).status, 200);
  EXPECT_EQ(core.drain_node(60s, start).status, 409);  // once
  EXPECT_TRUE(core.announcement_plan().announced.empty());
  EXPECT_EQ(core.announcement_plan().withheld.size(), 2u);
  core.tick(start + 1s);
  NodeStatus node = core.node_status(start + 1s);
  EXPECT_EQ(node.state, "draining");
  EXPECT_EQ(node.flows, 7u);
  data_plane.worker_states[0].flows = 0;
  core.tick(start + 2s);
  node = core.node_status(start + 2s);
  EXPECT_EQ(node.state, "drained");
  EXPECT_EQ(node.drained_because, "flows ended");
  // Flows that arrive after the drain ended (a router still converging) do not undo it.
  data_plane.worker_states[0].flows = 3;
  core.tick(start + 3s);
  EXPECT_EQ(core.node_status(start + 3s).state, "drained");
  EXPECT_EQ(core.undrain_node().status, 200);
  EXPECT_EQ(core.undrain_node().status, 409);
  EXPECT_EQ(core.announcement_plan().announced.size(), 2u);
}

TEST_F(NodeTest, ADrainEndsAtItsDeadlineWithFlowsLeft) {
  data_plane.worker_states[0].flows = 7;
  ASSERT_EQ(core.drain_node(10s, start).status, 200);
  core.tick(start + 9s);
  EXPECT_EQ(core.node_status(start + 9s).state, "draining");
  core.tick(start + 10s);
  NodeStatus node = core.node_status(start + 10s);
  EXPECT_EQ(node.state, "drained");
  EXPECT_EQ(node.drained_because, "deadline passed");
  EXPECT_EQ(node.deadline_seconds, 10.0);
}

TEST_F(NodeTest, ADrainSurvivesAReload) {
  data_plane.worker_states[0].flows = 1;
  ASSERT_EQ(core.drain_node(60s, start).status, 200);
  ApiResult reloaded = core.reload("test");
  (void)reloaded;  // the file name does not exist here: refused or not, the drain stays
  EXPECT_TRUE(core.announcement_plan().announced.empty());
}

TEST(BirdVipProtocols, OneBlackholeRoutePerVipInTheProtocolOfItsFamily) {
  const std::string text = bird_vip_protocols({ip("198.18.100.1"), ip("2001:2:0:100::1")});
  EXPECT_EQ(text,
            "# Written by fairwayd: the VIPs this node announces. Do not edit.\n"
            "protocol static fairway_vips4 {\n"
            "  ipv4;\n"
            "  route 198.18.100.1/32 blackhole;\n"
            "}\n"
            "protocol static fairway_vips6 {\n"
            "  ipv6;\n"
            "  route 2001:2:0:100::1/128 blackhole;\n"
            "}\n");
  EXPECT_NE(bird_vip_protocols({}).find("protocol static fairway_vips4 {\n  ipv4;\n}"),
            std::string::npos);
}

}  // namespace
}  // namespace fairway
