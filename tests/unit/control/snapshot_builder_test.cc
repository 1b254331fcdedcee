#include "control/snapshot_builder.h"

#include <gtest/gtest.h>

#include <set>

#include "pipeline/pipeline.h"

namespace fairway {
namespace {

constexpr const char* kConfig =
    "ports:\n"
    "  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
    "  - {name: server, device: dev1, addresses: [198.18.1.1/24]}\n"
    "services:\n"
    "  - name: web\n"
    "    vip: 198.18.100.1\n"
    "    port: 80\n"
    "    protocol: tcp\n"
    "    on_backend_down: reset\n"
    "    table_size: 251\n"
    "    backends: [{address: 198.18.1.11}, {address: 198.18.1.12, drain: true},\n"
    "               {address: 198.18.1.13, weight: 2}]\n"
    "  - name: api\n"
    "    vip: 198.18.100.2\n"
    "    port: 80\n"
    "    protocol: tcp\n"
    "    mode: nat\n"
    "    table_size: 251\n"
    "    backends: [{address: 198.18.1.11, port: 8080}]\n";

Config config() {
  ConfigResult r = load_config_string(kConfig, "t.yaml");
  EXPECT_TRUE(r) << r.error().message;
  return (r ? *r : Config{});
}

const std::vector<RuntimePort> kPorts = {{"client", MacAddress{}, false, 0},
                                         {"server", MacAddress{}, false, 0}};

// Which back-ends (by address text) the Maglev table uses at all.
std::set<std::string> scheduled(const Service& service) {
  std::set<std::string> out;
  for (uint16_t index : service.maglev) {
    if (index != kNoBackend) out.insert(service.backends.at(index).address.to_string());
  }
  return out;
}

TEST(SnapshotBuilder, OnlyBackendsInServiceGetNewFlows) {
  RuntimeState runtime;
  runtime.down.insert({"web", *IpAddress::parse("198.18.1.13"), 80});
  auto snap = build_snapshot(config(), kPorts, {}, 1, runtime);
  const Service& web = snap->services.at(0);
  EXPECT_TRUE(web.backends.at(1).drained);
  EXPECT_FALSE(web.backends.at(2).up);
  EXPECT_TRUE(web.resets_flows);  // reset policy and a back-end down
  EXPECT_EQ(scheduled(web), std::set<std::string>{"198.18.1.11"});
  EXPECT_FALSE(snap->services.at(1).resets_flows);
}

TEST(SnapshotBuilder, SameInputsSameTable) {
  // Maglev's permutation comes from the back-end keys: equal inputs must give equal tables
  // (every node with the same configuration makes the same choice).
  auto a = build_snapshot(config(), kPorts, {}, 1);
  auto b = build_snapshot(config(), kPorts, {}, 2);
  EXPECT_EQ(a->services.at(0).maglev, b->services.at(0).maglev);
  EXPECT_EQ(scheduled(a->services.at(0)), (std::set<std::string>{"198.18.1.11", "198.18.1.13"}));
}

TEST(SnapshotBuilder, RetiredServicesAndBackendsKeepTheirFlowsPath) {
  Config c = config();
  RuntimeState runtime;
  runtime.retired_backends["web"].push_back(BackendConfig{*IpAddress::parse("198.18.1.14"), 80, 5});
  runtime.retired_services.push_back(c.services.at(1));
  c.services.pop_back();  // "api" removed from the running configuration
  runtime.stats_slots[{"web", *IpAddress::parse("198.18.1.11"), 80}] = 7;
  auto snap = build_snapshot(c, kPorts, {}, 1, runtime);
  ASSERT_EQ(snap->services.size(), 2u);
  const Service& web = snap->services.at(0);
  ASSERT_EQ(web.backends.size(), 4u);
  EXPECT_TRUE(web.backends.at(3).removed);
  EXPECT_EQ(scheduled(web).count("198.18.1.14"), 0u);
  EXPECT_EQ(web.backends.at(0).stats_slot, 7u);
  EXPECT_EQ(web.backends.at(1).stats_slot, kNoStatsSlot);
  const Service& api = snap->services.at(1);
  EXPECT_FALSE(api.accepting);
  EXPECT_TRUE(web.accepting);
  // its VIP still finds it, and its back-end's replies are still translated
  EXPECT_EQ(snap->find_service(*IpAddress::parse("198.18.100.2"), 80, 6), &api);
  EXPECT_EQ(
      snap->nat_service_by_backend.at(Endpoint{*IpAddress::parse("198.18.1.11"), 8080, 6}).service,
      api.id);
}

TEST(SnapshotBuilder, EachServicesBackendHasItsOwnNextHopAndCounterSlot) {
  // 198.18.1.11 serves web (dsr, port 80) and api (nat, port 8080): two next hops, two slots.
  std::string text = kConfig;
  text += "neighbors:\n  - {address: 198.18.1.11, mac: \"02:00:00:00:01:0b\", port: server}\n";
  ConfigResult r = load_config_string(text, "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  RuntimeState runtime;
  runtime.stats_slots[{"web", *IpAddress::parse("198.18.1.11"), 80}] = 7;
  runtime.stats_slots[{"api", *IpAddress::parse("198.18.1.11"), 8080}] = 9;
  auto snap = build_snapshot(*r, kPorts, {}, 1, runtime);
  const IpAddress be = *IpAddress::parse("198.18.1.11");
  const NextHop* web = snap->backend_next_hops.find(ServiceBackend{be, 80, 0});
  const NextHop* api = snap->backend_next_hops.find(ServiceBackend{be, 8080, 1});
  ASSERT_NE(web, nullptr);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(web->stats_slot, 7u);
  EXPECT_EQ(api->stats_slot, 9u);
  EXPECT_EQ(web->port, 1);
  EXPECT_EQ(web->mac, *MacAddress::parse("02:00:00:00:01:0b"));
  EXPECT_EQ(snap->backend_next_hops.find(ServiceBackend{be, 80, 1}), nullptr);
  // Unresolved back-ends have no next hop, but are still known as back-ends.
  EXPECT_EQ(snap->backend_next_hops.find(ServiceBackend{*IpAddress::parse("198.18.1.13"), 80, 0}),
            nullptr);
  EXPECT_TRUE(snap->role_of(*IpAddress::parse("198.18.1.13")).backend);
  EXPECT_FALSE(snap->role_of(*IpAddress::parse("198.18.1.13")).vip);
  EXPECT_EQ(snap->nat_service_by_backend.at(Endpoint{be, 8080, 6}).stats_slot, 9u);
}

TEST(SnapshotBuilder, ARunningServiceWinsItsEndpointOverARetiredOne) {
  Config c = config();
  RuntimeState runtime;
  ServiceConfig old_api = c.services.at(1);
  old_api.name = "api-old";
  runtime.retired_services.push_back(old_api);  // same VIP:port and nat back-end as "api"
  auto snap = build_snapshot(c, kPorts, {}, 1, runtime);
  ASSERT_EQ(snap->services.size(), 2u);  // the retired one is shadowed
  const Service* api = snap->find_service(*IpAddress::parse("198.18.100.2"), 80, 6);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->name, "api");
  EXPECT_TRUE(api->accepting);
}

TEST(SnapshotBuilder, CapabilityPoolsHaveTheirOwnTable) {
  std::string text = std::string(kConfig) +
                     "    pools: [{name: special, clients: [198.18.0.128/25], "
                     "backends: [198.18.1.11]}]\n";
  ConfigResult r = load_config_string(text, "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  auto snap = build_snapshot(*r, kPorts, {}, 1);
  const Service& api = snap->services.at(1);
  ASSERT_EQ(api.pools.size(), 1u);
  EXPECT_EQ(api.pools[0].name, "special");
  const Service& web = snap->services.at(0);
  ASSERT_TRUE(web.pools.empty());
  // the pool's clients reach only the pool's back-ends; everyone else all of them
  int to_pool = 0, elsewhere = 0;
  for (uint64_t hash = 0; hash < 1000; ++hash) {
    const Backend* b = schedule(api, hash * 7919, *IpAddress::parse("198.18.0.200"));
    ASSERT_NE(b, nullptr);
    to_pool += b->address == *IpAddress::parse("198.18.1.11");
    const Backend* other = schedule(api, hash * 7919, *IpAddress::parse("198.18.0.2"));
    ASSERT_NE(other, nullptr);
    elsewhere += other->address == *IpAddress::parse("198.18.1.11");
  }
  EXPECT_EQ(to_pool, 1000);
  EXPECT_EQ(elsewhere, 1000);  // api has a single back-end
}

// source-hash: the client alone picks the entry; the flow hash is ignored.
TEST(SnapshotBuilder, SourceHashKeysTheTableByClient) {
  std::string text = kConfig;
  text.replace(text.find("    on_backend_down: reset\n"), 0, "    scheduler: source-hash\n");
  ConfigResult r = load_config_string(text, "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  auto snap = build_snapshot(*r, kPorts, {}, 1);
  const Service& web = snap->services.at(0);
  ASSERT_TRUE(web.by_source);
  EXPECT_FALSE(snap->services.at(1).by_source);
  std::set<IpAddress> chosen;
  for (int client = 1; client <= 64; ++client) {
    const IpAddress address = *IpAddress::parse("198.19.0." + std::to_string(client));
    const Backend* first = schedule(web, 1, address);
    ASSERT_NE(first, nullptr);
    for (uint64_t hash = 2; hash < 50; ++hash)
      EXPECT_EQ(schedule(web, hash * 7919, address), first);
    chosen.insert(first->address);
  }
  EXPECT_GE(chosen.size(), 2u);  // clients still spread over the back-ends
}

TEST(SnapshotBuilder, PoolsFollowWeightsAndStates) {
  std::string text = kConfig;
  text.replace(
      text.find("    backends: [{address: 198.18.1.11}, {address: 198.18.1.12, drain: true},"), 0,
      "    pools: [{name: p, clients: [198.18.0.0/24], backends: [198.18.1.12, 198.18.1.13]}]\n");
  ConfigResult r = load_config_string(text, "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  auto snap = build_snapshot(*r, kPorts, {}, 1);
  const Service& web = snap->services.at(0);
  ASSERT_EQ(web.pools.size(), 1u);
  // .12 is drained, so the pool's clients all go to .13
  for (uint64_t hash = 0; hash < 200; ++hash) {
    const Backend* b = schedule(web, hash * 104729, *IpAddress::parse("198.18.0.9"));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->address, *IpAddress::parse("198.18.1.13"));
  }
}

TEST(SnapshotBuilder, LeastLoadUsesTheDistributorsWeights) {
  std::string text =
      "load_feedback: {key: 0123456789abcdef0123456789abcdef}\n" + std::string(kConfig);
  text.replace(text.find("    on_backend_down: reset\n"), 0, "    scheduler: least-load\n");
  ConfigResult r = load_config_string(text, "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  RuntimeState runtime;
  runtime.effective_weights[{"web", *IpAddress::parse("198.18.1.11"), 80}] = 300;
  runtime.effective_weights[{"web", *IpAddress::parse("198.18.1.13"), 80}] = 100;
  runtime.effective_weights[{"api", *IpAddress::parse("198.18.1.11"), 8080}] =
      7;  // api is not least-load: ignored
  auto snap = build_snapshot(*r, kPorts, {}, 1, runtime);
  const Service& web = snap->services.at(0);
  EXPECT_EQ(web.backends[0].effective_weight, 300u);
  EXPECT_EQ(web.backends[1].effective_weight, 0u);  // drained
  EXPECT_EQ(web.backends[2].effective_weight, 100u);
  EXPECT_EQ(snap->services.at(1).backends[0].effective_weight, 1u);
  size_t first = 0;
  for (uint16_t index : web.maglev) first += index == 0;
  EXPECT_NEAR(static_cast<double>(first) / web.maglev.size(), 0.75, 0.02);
}

}  // namespace
}  // namespace fairway
