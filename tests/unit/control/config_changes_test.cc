#include "control/config_changes.h"

#include <gtest/gtest.h>

#include <string>

namespace fairway {
namespace {

constexpr const char* kRunning =
    "ports:\n"
    "  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
    "  - {name: server, device: dev1, addresses: [198.18.1.1/24]}\n"
    "services:\n"
    "  - name: web\n"
    "    vip: 198.18.100.1\n"
    "    port: 80\n"
    "    protocol: tcp\n"
    "    backends: [{address: 198.18.1.11}, {address: 198.18.1.12, weight: 2}]\n"
    "  - name: api\n"
    "    vip: 198.18.100.2\n"
    "    port: 80\n"
    "    protocol: tcp\n"
    "    mode: nat\n"
    "    backends: [{address: 198.18.1.11, port: 8080}]\n";

Config running() {
  ConfigResult r = load_config_string(kRunning, "running.yaml");
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : Config{};
}

// The error of a refused change, with its status; the running configuration is a copy, so a
// refused change cannot have touched it.
std::pair<int, std::string> refused(const ChangeResult& r) {
  EXPECT_FALSE(r);
  if (r) return {0, "(accepted: " + r->summary + ")"};
  return {r.error().status, r.error().message};
}

TEST(ConfigChanges, AddServiceReadsTheFileRules) {
  Config c = running();
  ChangeResult r = add_service(c, R"({"name": "dns", "vip": "198.18.100.3", "port": 53,
      "protocol": "udp", "backends": [{"address": "198.18.1.13", "weight": 3}]})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->config.services.size(), 3u);
  const ServiceConfig& dns = r->config.services.back();
  EXPECT_EQ(dns.name, "dns");
  EXPECT_EQ(dns.protocol, 17);
  EXPECT_EQ(dns.backends.at(0).weight, 3u);
  EXPECT_EQ(dns.backends.at(0).port, 53);
  EXPECT_EQ(c.services.size(), 2u);  // the running one is untouched
}

TEST(ConfigChanges, AddServiceErrorsNameTheField) {
  Config c = running();
  struct Case {
    const char* body;
    int status;
    const char* message;
  };
  const Case cases[] = {
      {"not json", 400, "not a JSON object"},
      {"[1, 2]", 400, "not a JSON object"},
      {R"({"vip": "198.18.100.3", "port": 80, "protocol": "tcp"})", 400, "backends"},
      {R"({"vip": "198.18.100.3", "port": 80, "protocol": "tcp", "colour": 1,
           "backends": [{"address": "198.18.1.11"}]})",
       400, "colour"},
      {R"({"vip": "198.18.100.3", "port": 80, "protocol": "tcp",
           "backends": [{"address": "198.18.1.11", "weight": 70000}]})",
       400, "backends[0].weight"},
      {R"({"vip": "198.18.100.3", "port": 80, "protocol": "sctp",
           "backends": [{"address": "198.18.1.11"}]})",
       400, "protocol"},
      {R"({"vip": "198.18.1.1", "port": 80, "protocol": "tcp",
           "backends": [{"address": "198.18.1.11"}]})",
       400, "address of port 'server'"},
      {R"({"name": "web", "vip": "198.18.100.3", "port": 80, "protocol": "tcp",
           "backends": [{"address": "198.18.1.11"}]})",
       409, "a service named 'web' already exists"},
      {R"({"name": "web2", "vip": "198.18.100.1", "port": 80, "protocol": "tcp",
           "backends": [{"address": "198.18.1.11"}]})",
       409, "service 'web' already serves 198.18.100.1:80/tcp"},
      {R"({"name": "api2", "vip": "198.18.100.4", "port": 80, "protocol": "tcp", "mode": "nat",
           "backends": [{"address": "198.18.1.11", "port": 8080}]})",
       409, "already belongs to nat service 'api'"},
  };
  for (const Case& c2 : cases) {
    auto [status, message] = refused(add_service(c, c2.body));
    EXPECT_EQ(status, c2.status) << c2.body << " -> " << message;
    EXPECT_NE(message.find(c2.message), std::string::npos) << c2.body << " -> " << message;
  }
}

TEST(ConfigChanges, BackendErrorsAreReportedAgainstTheBody) {
  auto [status, message] = refused(add_backend(running(), "web", R"({"address": "198.18.1.13",
      "weight": -1})"));
  EXPECT_EQ(status, 400);
  EXPECT_EQ(message.rfind("request body:", 0), 0u) << message;
  EXPECT_NE(message.find("weight"), std::string::npos) << message;
}

TEST(ConfigChanges, AddAndRemoveBackends) {
  Config c = running();
  ChangeResult added = add_backend(c, "web", R"({"address": "198.18.1.13", "weight": 4})");
  ASSERT_TRUE(added) << added.error().message;
  EXPECT_EQ(added->config.services[0].backends.size(), 3u);
  EXPECT_EQ(added->config.services[0].backends[2].weight, 4u);

  EXPECT_EQ(refused(add_backend(c, "web", R"({"address": "198.18.1.11"})")).first, 409);
  EXPECT_EQ(refused(add_backend(c, "nope", R"({"address": "198.18.1.11"})")).first, 404);
  // dsr cannot change the port
  EXPECT_EQ(refused(add_backend(c, "web", R"({"address": "198.18.1.13", "port": 81})")).first, 400);

  ChangeResult removed = remove_backend(added->config, "web", "198.18.1.11:80");
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(removed->config.services[0].backends.size(), 2u);
  EXPECT_EQ(refused(remove_backend(c, "web", "198.18.1.99:80")).first, 404);
  // The last back-end of a service stays: remove the service instead.
  auto [status, message] = refused(remove_backend(c, "api", "198.18.1.11:8080"));
  EXPECT_EQ(status, 409);
  EXPECT_NE(message.find("last"), std::string::npos);
}

TEST(ConfigChanges, RemoveServiceAndChangeBackend) {
  Config c = running();
  ChangeResult removed = remove_service(c, "api");
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->config.services.size(), 1u);
  EXPECT_EQ(refused(remove_service(c, "nope")).first, 404);

  ChangeResult drained = change_backend(c, "web", "198.18.1.12:80", {std::nullopt, true});
  ASSERT_TRUE(drained);
  EXPECT_TRUE(drained->config.services[0].backends[1].drained);
  EXPECT_EQ(drained->config.services[0].backends[1].weight, 2u);
  ChangeResult weighted = change_backend(c, "web", "198.18.1.12:80", {7u, std::nullopt});
  ASSERT_TRUE(weighted);
  EXPECT_EQ(weighted->config.services[0].backends[1].weight, 7u);
  EXPECT_EQ(refused(change_backend(c, "web", "198.18.1.12:81", {7u, std::nullopt})).first, 404);
}

TEST(ConfigChanges, ReloadTakesServicesButNotRestartOnlySections) {
  Config c = running();
  std::string changed_services = std::string(kRunning) + "  - {name: dns, vip: 198.18.100.3, " +
                                 "port: 53, protocol: udp, backends: [{address: 198.18.1.13}]}\n";
  ChangeResult ok = reload(c, load_config_string(changed_services, "running.yaml"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->config.services.size(), 3u);

  auto [status, message] = refused(
      reload(c, load_config_string("workers: 2\n" + std::string(kRunning), "running.yaml")));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("running.yaml: workers: changed"), std::string::npos) << message;
  // The workers' reassembly tables and the pool's reserve are made at start-up.
  auto [fragments_status, fragments_message] = refused(reload(
      c, load_config_string("fragments: {timeout: 2s}\n" + std::string(kRunning), "running.yaml")));
  EXPECT_EQ(fragments_status, 400);
  EXPECT_NE(fragments_message.find("running.yaml: fragments: changed"), std::string::npos)
      << fragments_message;

  // A broken file is refused with the loader's own error (file, line, column, field).
  std::string broken = std::string(kRunning) + "  - {name: bad, vip: 198.18.100.9, port: 99999}\n";
  auto [bad_status, bad_message] = refused(reload(c, load_config_string(broken, "running.yaml")));
  EXPECT_EQ(bad_status, 400);
  EXPECT_EQ(bad_message.rfind("running.yaml:16:42: services[2].port: value 99999", 0), 0u)
      << bad_message;
}

}  // namespace
}  // namespace fairway

namespace fairway {
namespace {

Config deny_base() {
  ConfigResult r = load_config_string(
      "ports:\n  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
      "services:\n  - {name: web, vip: 198.18.100.1, port: 80, protocol: tcp,\n"
      "     backends: [{address: 198.18.0.10}]}\n",
      "t.yaml");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : Config{};
}

TEST(DenyListChange, AddsAndRemovesGlobalAndPerService) {
  Config running = deny_base();
  ChangeResult global = change_deny_list(running, "", "198.18.9.0/24", true);
  ASSERT_TRUE(global) << global.error().message;
  EXPECT_EQ(global->config.deny_clients, std::vector<IpPrefix>{*IpPrefix::parse("198.18.9.0/24")});
  EXPECT_EQ(global->summary, "added 198.18.9.0/24 to the global deny list");
  ChangeResult one = change_deny_list(global->config, "web", "198.18.7.7", true);
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->config.services[0].deny_clients,
            std::vector<IpPrefix>{*IpPrefix::parse("198.18.7.7/32")});
  ChangeResult removed = change_deny_list(one->config, "", "198.18.9.0/24", false);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(removed->config.deny_clients.empty());
  EXPECT_EQ(removed->config.services[0].deny_clients.size(), 1u);
}

TEST(DenyListChange, RefusesWhatItCannotDo) {
  Config running = deny_base();
  auto status_of = [](const ChangeResult& r) { return r ? 0 : r.error().status; };
  EXPECT_EQ(status_of(change_deny_list(running, "", "198.18.9.0/33", true)), 400);
  EXPECT_EQ(status_of(change_deny_list(running, "", "nonsense", true)), 400);
  EXPECT_EQ(status_of(change_deny_list(running, "nope", "198.18.9.0/24", true)), 404);
  EXPECT_EQ(status_of(change_deny_list(running, "", "198.18.9.0/24", false)), 404);
  Config with = change_deny_list(running, "", "198.18.9.0/24", true)->config;
  ChangeResult again = change_deny_list(with, "", "198.18.9.0/24", true);
  EXPECT_EQ(status_of(again), 409);
  EXPECT_NE(again.error().message.find("already in the global deny list"), std::string::npos);
}

}  // namespace
}  // namespace fairway
