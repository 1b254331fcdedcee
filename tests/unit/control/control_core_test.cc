// The control core without EAL or root: a fake data plane records what it publishes and answers
// flow queries as a test tells it to.
#include "control/control_core.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "control/retirement_sweeper.h"
#include "control/status_json.h"
#include "fake_data_plane.h"
#include "report/load_report.h"
#include "report/signature.h"

namespace fairway {
namespace {

using namespace std::chrono_literals;
using Clock = ControlCore::Clock;

constexpr const char* kConfig =
    "ports:\n"
    "  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
    "  - {name: server, device: dev1, addresses: [198.18.1.1/24]}\n"
    "services:\n"
    "  - name: web\n"
    "    vip: 198.18.100.1\n"
    "    port: 80\n"
    "    protocol: tcp\n"
    "    backends: [{address: 198.18.1.11}, {address: 198.18.1.12}]\n"
    "  - name: api\n"
    "    vip: 198.18.100.2\n"
    "    port: 80\n"
    "    protocol: tcp\n"
    "    mode: nat\n"
    "    backends: [{address: 198.18.1.11, port: 8080}]\n";

Config config_from(const std::string& text) {
  ConfigResult r = load_config_string(text, "core.yaml");
  EXPECT_TRUE(r) << r.error().message;
  return (r ? *r : Config{});
}

struct CoreTest : ::testing::Test {
  void SetUp() override { core.start({}, start); }
  FakeDataPlane data_plane;
  ControlCore core{config_from(kConfig), data_plane};
  Clock::time_point start = Clock::now();
};

TEST_F(CoreTest, StartPublishesTheFirstSnapshot) {
  ASSERT_EQ(data_plane.published, std::vector<uint64_t>{1});
  ASSERT_NE(data_plane.service("web"), nullptr);
  EXPECT_EQ(data_plane.service("web")->backends.size(), 2u);
  nlohmann::json status = to_json(core.status(start + 3s));
  EXPECT_EQ(status["snapshot_version"], 1);
  EXPECT_EQ(status["uptime_seconds"], 3);
  EXPECT_EQ(status["services"], 2);
}

TEST_F(CoreTest, ARefusedChangeChangesNothingAndPublishesNothing) {
  ApiResult r = core.apply(remove_service(core.config(), "nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(data_plane.published.size(), 1u);
  EXPECT_EQ(core.config().services.size(), 2u);
}

TEST_F(CoreTest, AnAcceptedChangeIsPublishedAtOnce) {
  ApiResult r = core.apply(
      change_backend(core.config(), "web", "198.18.1.12:80", BackendChange{std::nullopt, true}));
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["snapshot_version"], 2);
  EXPECT_TRUE(data_plane.backend("web", "198.18.1.12")->drained);
}

TEST_F(CoreTest, ARemovedBackendStaysRetiredWhileWorkersHaveItsFlows) {
  ASSERT_EQ(core.apply(remove_backend(core.config(), "web", "198.18.1.12:80")).status, 200);
  const Backend* retired = data_plane.backend("web", "198.18.1.12");
  ASSERT_NE(retired, nullptr);  // still there for its flows' sake, taking no new ones
  EXPECT_TRUE(retired->removed);

  std::vector<RetiredCheck> checks = core.retired_checks();
  ASSERT_EQ(checks.size(), 1u);
  ASSERT_TRUE(checks[0].filter);
  EXPECT_EQ(checks[0].filter->vip, IpAddress::parse("198.18.100.1"));
  EXPECT_EQ(checks[0].filter->backend, IpAddress::parse("198.18.1.12"));
  EXPECT_EQ(checks[0].filter->backend_port, 80);

  std::mutex lock;
  RetirementSweeper sweeper(core, data_plane, lock);
  data_plane.answer = [](const FlowFilter&) { return FlowListing{3, {}, true}; };
  EXPECT_EQ(sweeper.sweep(), 0u);
  data_plane.answer = [](const FlowFilter&) { return FlowListing{0, {}, false}; };
  EXPECT_EQ(sweeper.sweep(), 0u) << "a worker that did not answer may still have flows";
  EXPECT_NE(data_plane.backend("web", "198.18.1.12"), nullptr);
  const size_t publications = data_plane.published.size();

  data_plane.answer = [](const FlowFilter&) { return FlowListing{0, {}, true}; };
  EXPECT_EQ(sweeper.sweep(), 1u);
  EXPECT_EQ(data_plane.backend("web", "198.18.1.12"), nullptr);
  EXPECT_EQ(data_plane.published.size(), publications + 1);
  EXPECT_TRUE(core.retired_checks().empty());
}

TEST_F(CoreTest, ARemovedServiceKeepsItsBackendsUntilItsFlowsEnd) {
  ASSERT_EQ(core.apply(remove_backend(core.config(), "web", "198.18.1.12:80")).status, 200);
  ASSERT_EQ(core.apply(remove_service(core.config(), "web")).status, 200);
  // The retired back-end joins its retired service: one check for the whole service.
  std::vector<RetiredCheck> checks = core.retired_checks();
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_FALSE(checks[0].backend);
  const Service* web = data_plane.service("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->backends.size(), 2u);
  EXPECT_FALSE(web->accepting);

  core.forget_retired(checks);
  EXPECT_EQ(data_plane.service("web"), nullptr);
}

TEST_F(CoreTest, ACheckMadeBeforeABackendCameBackAndLeftAgainIsIgnored) {
  ASSERT_EQ(core.apply(remove_backend(core.config(), "web", "198.18.1.12:80")).status, 200);
  std::vector<RetiredCheck> stale = core.retired_checks();
  // Meanwhile (the sweeper's query runs without the lock) it comes back, takes new flows, and
  // is removed again: the old answer "no flows" says nothing about those.
  ASSERT_EQ(
      core.apply(add_backend(core.config(), "web", R"({"address": "198.18.1.12"})"), 201).status,
      201);
  EXPECT_TRUE(core.retired_checks().empty());
  ASSERT_EQ(core.apply(remove_backend(core.config(), "web", "198.18.1.12:80")).status, 200);
  core.forget_retired(stale);
  EXPECT_NE(data_plane.backend("web", "198.18.1.12"), nullptr);
  core.forget_retired(core.retired_checks());
  EXPECT_EQ(data_plane.backend("web", "198.18.1.12"), nullptr);
}

TEST_F(CoreTest, TheSweeperAsksTheWorkersWithoutHoldingTheLock) {
  ASSERT_EQ(core.apply(remove_service(core.config(), "api")).status, 200);
  std::mutex lock;
  RetirementSweeper sweeper(core, data_plane, lock);
  bool lock_was_free = false;
  data_plane.on_query = [&] {
    // Another thread (the control loop, an API request) can take the lock meanwhile.
    std::thread other([&] {
      if (lock.try_lock()) {
        lock_was_free = true;
        lock.unlock();
      }
    });
    other.join();
  };
  data_plane.answer = [](const FlowFilter&) { return FlowListing{0, {}, true}; };
  EXPECT_EQ(sweeper.sweep(), 1u);
  EXPECT_TRUE(lock_was_free);
  ASSERT_EQ(data_plane.queries.size(), 1u);
  EXPECT_EQ(data_plane.queries[0].vip, IpAddress::parse("198.18.100.2"));
  EXPECT_EQ(data_plane.service("api"), nullptr);
}

TEST_F(CoreTest, TheSweeperThreadSweepsUntilStopped) {
  ASSERT_EQ(core.apply(remove_service(core.config(), "api")).status, 200);
  std::mutex lock;
  RetirementSweeper sweeper(core, data_plane, lock);
  data_plane.answer = [](const FlowFilter&) { return FlowListing{0, {}, true}; };
  sweeper.start(1ms);
  for (int i = 0; i < 5000; ++i) {
    {
      std::lock_guard guard(lock);
      if (core.retired_checks().empty()) break;
    }
    std::this_thread::sleep_for(1ms);
  }
  sweeper.stop();
  std::lock_guard guard(lock);
  EXPECT_TRUE(core.retired_checks().empty());
}

TEST_F(CoreTest, KernelStateIsRepublishedOnlyWhenItChanged) {
  KernelState kernel;
  core.set_kernel_state(kernel);
  EXPECT_EQ(data_plane.published.size(), 1u);
  kernel.routes.push_back(KernelRoute{*IpPrefix::parse("198.18.50.0/24"), {}, false, 0, 0});
  core.set_kernel_state(kernel);
  EXPECT_EQ(data_plane.published.size(), 2u);
}

TEST_F(CoreTest, ServicesShowTheWorkersCounters) {
  const Service* web = data_plane.service("web");
  ServiceEvents events;
  events.syns = 7;
  events.denied = 2;
  data_plane.events[web->stats_slot] = events;
  data_plane.traffic[web->backends[1].stats_slot] = BackendTraffic{5, 40, 4000, 30, 9000, 1};
  data_plane.traffic[web->backends[0].stats_slot] = BackendTraffic{1, 2, 200, 0, 0, 0};
  data_plane.flow_counts[web->backends[0].stats_slot] = FlowCounts{3, 1};
  data_plane.flow_counts[web->backends[1].stats_slot] = FlowCounts{4, 0};
  nlohmann::json services = to_json(core.service_status(start));
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[0]["name"], "web");
  EXPECT_EQ(services[0]["scheduler"], "maglev");
  EXPECT_EQ(services[0]["counters"]["syns"], 7);
  EXPECT_EQ(services[0]["counters"]["denied"], 2);
  const nlohmann::json& b1 = services[0]["backends"][1];
  EXPECT_EQ(b1["flows_created"], 5);
  EXPECT_EQ(b1["packets_in"], 40);
  EXPECT_EQ(b1["bytes_in"], 4000);
  EXPECT_EQ(b1["packets_out"], 30);
  EXPECT_EQ(b1["bytes_out"], 9000);
  EXPECT_EQ(b1["flows_reset"], 1);
  EXPECT_EQ(services[0]["backends"][0]["flows_created"], 1);
  // The service's traffic is its back-ends' summed; the api service has none.
  EXPECT_EQ(services[0]["counters"]["packets_in"], 42);
  EXPECT_EQ(services[0]["counters"]["bytes_in"], 4200);
  EXPECT_EQ(services[0]["counters"]["flows_created"], 6);
  EXPECT_EQ(services[1]["counters"]["packets_in"], 0);
  EXPECT_EQ(services[0]["backends"][0]["active_flows"], 3);
  EXPECT_EQ(services[0]["backends"][0]["inactive_flows"], 1);
  EXPECT_EQ(services[0]["counters"]["active_flows"], 7);
  EXPECT_EQ(services[0]["counters"]["inactive_flows"], 1);
  EXPECT_EQ(services[0]["backends"][0]["health"]["state"], "unchecked");
}

TEST_F(CoreTest, ServiceFilterSelectsARunningService) {
  std::optional<FlowFilter> filter = core.service_filter("api");
  ASSERT_TRUE(filter);
  EXPECT_EQ(filter->vip, IpAddress::parse("198.18.100.2"));
  EXPECT_EQ(filter->vip_port, 80);
  EXPECT_FALSE(core.service_filter("nope"));
}

TEST(ControlCoreReload, AReloadTakesTheFileOrKeepsTheRunningConfiguration) {
  const std::string path = ::testing::TempDir() + "control_core_reload.yaml";
  auto write = [&](const std::string& text) { std::ofstream(path) << text; };
  write(kConfig);
  ConfigResult loaded = load_config_file(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  FakeDataPlane data_plane;
  ControlCore core(*loaded, data_plane);
  core.start({}, Clock::now());

  std::string grown = kConfig;
  grown.replace(grown.find("{address: 198.18.1.12}"), 0, "{address: 198.18.1.13}, ");
  write(grown);
  ASSERT_EQ(core.reload("test").status, 200);
  EXPECT_NE(data_plane.backend("web", "198.18.1.13"), nullptr);

  write(grown + "    bogus: 1\n");
  ApiResult refused = core.reload("test");
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body["error"].get<std::string>().find("bogus"), std::string::npos);
  EXPECT_EQ(data_plane.published.size(), 2u);
  EXPECT_EQ(core.config().services[0].backends.size(), 3u);
  std::remove(path.c_str());
}

// A port on 127.0.0.1 that refuses connections (bound, then closed).
uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof sin;
  ::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &length);
  ::close(fd);
  return ntohs(sin.sin_port);
}

TEST(ControlCoreHealth, ABackendThatFailsItsChecksIsPublishedDown) {
  const std::string text = std::string(kConfig) +
                           "  - name: checked\n"
                           "    vip: 198.18.100.3\n"
                           "    port: 80\n"
                           "    protocol: tcp\n"
                           "    health_check: {type: tcp, port: " +
                           std::to_string(closed_port()) +
                           ", interval: 100ms, timeout: 100ms, fall: 1}\n"
                           "    backends: [{address: 127.0.0.1}]\n";
  FakeDataPlane data_plane;
  ControlCore core(config_from(text), data_plane);
  core.start({}, Clock::now());
  ASSERT_TRUE(data_plane.backend("checked", "127.0.0.1")->up);  // unknown counts as up
  // Connection refused on the loopback comes within milliseconds; the bound is generous.
  for (int i = 0; i < 1000 && core.runtime().down.empty(); ++i) {
    core.tick(Clock::now());
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(core.runtime().down.size(), 1u);
  EXPECT_FALSE(data_plane.backend("checked", "127.0.0.1")->up);
  nlohmann::json services = to_json(core.service_status(Clock::now()));
  EXPECT_EQ(services[2]["backends"][0]["state"], "down");
  EXPECT_EQ(services[2]["backends"][0]["health"]["state"], "down");
  EXPECT_EQ(to_json(core.status(Clock::now()))["backends_down"], 1);
}

constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

std::string report_body(const std::string& address, double cpu, uint64_t sequence) {
  LoadReport report;
  report.agent = "agent-" + address;
  report.address = *IpAddress::parse(address);
  report.timestamp_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  report.sequence = sequence;
  report.interval_ms = 1000;
  report.cpu_percent = cpu;
  report.memory_percent = 10;
  return to_json(report);
}

TEST(ControlCoreLoad, LeastLoadMovesWeightsTowardsTheLessLoadedBackend) {
  std::string text = std::string("load_feedback: {key: ") + kKey + "}\n" + kConfig;
  text.replace(text.find("    backends: [{address: 198.18.1.11}, {address: 198.18.1.12}]"), 0,
               "    scheduler: least-load\n");
  FakeDataPlane data_plane;
  ControlCore core(config_from(text), data_plane);
  Clock::time_point now = Clock::now();
  core.start({}, now);
  const uint32_t admin = data_plane.backend("web", "198.18.1.11")->effective_weight;
  ASSERT_EQ(admin, data_plane.backend("web", "198.18.1.12")->effective_weight);

  ApiResult forged = core.agent_report(report_body("198.18.1.11", 90, 1), "sha256=00", "x", now);
  EXPECT_EQ(forged.status, 401);
  for (uint64_t round = 1; round <= 6; ++round) {
    for (auto [address, cpu] : {std::pair{"198.18.1.11", 90.0}, std::pair{"198.18.1.12", 10.0}}) {
      std::string body = report_body(address, cpu, round);
      ApiResult r = core.agent_report(body, signature_header(kKey, body), "198.18.1.2", now);
      ASSERT_EQ(r.status, 200) << r.body.dump();
    }
    now += 1s;
    core.tick(now);
  }
  // Effective weights are on the distributor's finer scale: compare the two back-ends.
  const uint32_t busy = data_plane.backend("web", "198.18.1.11")->effective_weight;
  const uint32_t idle = data_plane.backend("web", "198.18.1.12")->effective_weight;
  EXPECT_LT(busy * 3, idle) << busy << " vs " << idle;
  EXPECT_GT(data_plane.published.size(), 3u);
  nlohmann::json agents = to_json(core.agents(now));
  EXPECT_EQ(agents["accepted"], 12);
  EXPECT_EQ(agents["rejected"]["bad_signature"], 1);
  nlohmann::json services = to_json(core.service_status(now));
  EXPECT_TRUE(services[0]["backends"][0].contains("load"));
  // The api service is not least-load: its weight stays the admin one.
  EXPECT_EQ(data_plane.backend("api", "198.18.1.11")->effective_weight,
            data_plane.backend("api", "198.18.1.11")->weight);
}

}  // namespace
}  // namespace fairway
