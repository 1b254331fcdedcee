#include "control/saved_state.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "control/config_changes.h"

namespace fairway {
namespace {

constexpr const char* kPorts =
    "ports:\n"
    "  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
    "  - {name: server, device: dev1, addresses: [198.18.1.1/24]}\n";

// A file with services web (two back-ends) and api.
std::string file(
    const std::string& web_backends = "[{address: 198.18.1.11}, {address: 198.18.1.12, weight: 2}]",
    const std::string& extra = "") {
  return std::string(kPorts) +
         "services:\n"
         "  - {name: web, vip: 198.18.100.1, port: 80, protocol: tcp, backends: " +
         web_backends +
         "}\n"
         "  - {name: api, vip: 198.18.100.2, port: 80, protocol: tcp, mode: nat,\n"
         "     backends: [{address: 198.18.1.11, port: 8080}]}\n" +
         extra;
}

Config load(const std::string& text) {
  ConfigResult r = load_config_string(text, "fairway.yaml");
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : Config{};
}

Config changed(const ChangeResult& r) {
  EXPECT_TRUE(r) << r.error().message;
  return r ? r->config : Config{};
}

const BackendConfig& backend(const Config& c, const std::string& service, size_t i) {
  for (const ServiceConfig& s : c.services) {
    if (s.name == service) return s.backends.at(i);
  }
  throw std::runtime_error("no service " + service);
}

// The file as read, then changed through the API by `change`, then the file read again as
// `fresh`: what the reload makes of it.
struct Reload {
  Config result;
  std::vector<std::string> notes;
};
Reload reload_after(const Config& first, const Config& running, const std::string& fresh) {
  SavedState state{ApiPart::of(first), ApiPart::of(running), false};
  Merged m = with_api_changes(state, load(fresh));
  Reload r{m.config, m.warnings};
  if (m.kept != 0) r.notes.push_back(std::to_string(m.kept) + " changes made through the API kept");
  return r;
}

TEST(SavedState, ABackEndChangedThroughTheApiSurvivesAReloadOfTheSameFile) {
  Config first = load(file());
  Config running = changed(change_backend(first, "web", "198.18.1.12:80", {7, true}));
  Reload r = reload_after(first, running, file());
  EXPECT_EQ(backend(r.result, "web", 1).weight, 7u);
  EXPECT_TRUE(backend(r.result, "web", 1).drained);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "1 changes made through the API kept");
}

TEST(SavedState, TheFileWinsForAnItemItChangedToo) {
  Config first = load(file());
  Config running = changed(change_backend(first, "web", "198.18.1.12:80", {7, std::nullopt}));
  Reload r = reload_after(first, running,
                          file("[{address: 198.18.1.11}, {address: 198.18.1.12, weight: 5}]"));
  EXPECT_EQ(backend(r.result, "web", 1).weight, 5u);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_EQ(r.notes[0],
            "service web back-end 198.18.1.12:80: changed through the API and in the file; the "
            "file's version is taken");
}

TEST(SavedState, ChangesToDifferentItemsAreBothKept) {
  Config first = load(file());
  Config running = changed(change_backend(first, "web", "198.18.1.12:80", {7, std::nullopt}));
  Reload r = reload_after(first, running,
                          file("[{address: 198.18.1.11, weight: 4}, {address: 198.18.1.12, "
                               "weight: 2}, {address: 198.18.1.13}]"));
  const ServiceConfig& web = r.result.services[0];
  ASSERT_EQ(web.backends.size(), 3u);
  EXPECT_EQ(web.backends[0].weight, 4u);  // the file's
  EXPECT_EQ(web.backends[1].weight, 7u);  // the API's
  EXPECT_EQ(web.backends[2].address.to_string(), "198.18.1.13");
}

TEST(SavedState, AddsAndRemovesOfServicesBackEndsAndDenyPrefixesAreKept) {
  Config first = load(file());
  Config running = changed(remove_service(first, "api"));
  running = changed(add_service(
      running, R"({"name": "dns", "vip": "198.18.100.3", "port": 53, "protocol": "udp",)"
               R"( "backends": [{"address": "198.18.1.21"}]})"));
  running = changed(add_backend(running, "web", R"({"address": "198.18.1.14", "weight": 3})"));
  running = changed(remove_backend(running, "web", "198.18.1.11:80"));
  running = changed(change_deny_list(running, "", "198.18.9.0/24", true));
  running = changed(change_deny_list(running, "web", "198.18.8.0/24", true));
  Reload r = reload_after(first, running, file());
  ASSERT_EQ(r.result.services.size(), 2u);
  EXPECT_EQ(r.result.services[0].name, "web");
  EXPECT_EQ(r.result.services[1].name, "dns");
  const ServiceConfig& web = r.result.services[0];
  ASSERT_EQ(web.backends.size(), 2u);
  EXPECT_EQ(web.backends[0].address.to_string(), "198.18.1.12");
  EXPECT_EQ(web.backends[1].address.to_string(), "198.18.1.14");
  EXPECT_EQ(web.backends[1].weight, 3u);
  ASSERT_EQ(web.deny_clients.size(), 1u);
  EXPECT_EQ(web.deny_clients[0].to_string(), "198.18.8.0/24");
  ASSERT_EQ(r.result.deny_clients.size(), 1u);
  EXPECT_EQ(r.result.deny_clients[0].to_string(), "198.18.9.0/24");
}

TEST(SavedState, WhatTheApiDidNotTouchFollowsTheFile) {
  Config first = load(file("[{address: 198.18.1.11}, {address: 198.18.1.12, weight: 2}]",
                           "deny_clients: [198.18.7.0/24]\n"));
  Config running = changed(change_backend(first, "web", "198.18.1.12:80", {7, std::nullopt}));
  // The file drops service api, the global deny prefix and back-end .11.
  Reload r = reload_after(first, running,
                          std::string(kPorts) +
                              "services:\n"
                              "  - {name: web, vip: 198.18.100.1, port: 80, protocol: tcp,\n"
                              "     backends: [{address: 198.18.1.12, weight: 2}]}\n");
  ASSERT_EQ(r.result.services.size(), 1u);
  ASSERT_EQ(r.result.services[0].backends.size(), 1u);
  EXPECT_EQ(r.result.services[0].backends[0].weight, 7u);
  EXPECT_TRUE(r.result.deny_clients.empty());
}

TEST(SavedState, ApiChangesThatNoLongerFitTheFileAreDroppedWithAReason) {
  Config first = load(file());
  Config running = changed(
      add_service(first, R"({"name": "dns", "vip": "198.18.100.3", "port": 53, "protocol": "udp",)"
                         R"( "backends": [{"address": "198.18.1.21"}]})"));
  // The file gained its own service on the same VIP and port.
  Reload r = reload_after(first, running,
                          file("[{address: 198.18.1.11}, {address: 198.18.1.12, weight: 2}]",
                               "  - {name: resolver, vip: 198.18.100.3, port: 53, protocol: udp,\n"
                               "     backends: [{address: 198.18.1.22}]}\n"));
  ASSERT_EQ(r.result.services.size(), 3u);
  EXPECT_EQ(r.result.services[2].name, "resolver");
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("the API's changes no longer fit the file and are dropped"),
            std::string::npos)
      << r.notes[0];
}

TEST(SavedState, TheStateFileReadsBackAsWritten) {
  Config first = load(file());
  Config running = changed(change_backend(first, "web", "198.18.1.12:80", {0, true}));
  running = changed(change_deny_list(running, "", "2001:2:9::/48", true));
  SavedState state{ApiPart::of(first), ApiPart::of(running), true};
  const std::string path =
      (std::filesystem::temp_directory_path() / ("fairway-state-" + std::to_string(getpid())))
          .string();
  std::string error;
  ASSERT_TRUE(save_state_file(path, state, error)) << error;
  Result<SavedState> back = load_state_file(path, first);
  std::remove(path.c_str());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->drained);
  EXPECT_EQ(state_to_yaml(*back), state_to_yaml(state));
  EXPECT_EQ(back->running.services[0].backends[1].weight, 0u);
  EXPECT_EQ(back->file.services[0].backends[1].weight, 2u);
}

TEST(SavedState, ABadStateFileIsAnErrorNamingTheFileAndLine) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("fairway-bad-" + std::to_string(getpid())))
          .string();
  {
    std::ofstream out(path);
    out << "version: 1\nfile: {services: []}\nrunning:\n  services:\n    - {name: x, vip: "
           "198.18.100.9, port: 80, protocol: tcp, backends: [{address: 198.18.1.11, weight: "
           "-1}]}\n";
  }
  Result<SavedState> r = load_state_file(path, load(file()));
  std::remove(path.c_str());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(path + ":5:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("weight"), std::string::npos) << r.error().message;
  EXPECT_FALSE(load_state_file("/nonexistent/state.yaml", load(file())));
}

}  // namespace
}  // namespace fairway
