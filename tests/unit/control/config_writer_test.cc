#include "control/config_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace fairway {
namespace {

// Written, read back and written again: the same text, so nothing the loader reads is lost or
// changed on the way (every field is written, defaults included).
void expect_round_trip(const Config& config) {
  const std::string first = config_to_yaml(config);
  ConfigResult again = load_config_string(first, "written.yaml");
  ASSERT_TRUE(again) << again.error().message << "\n" << first;
  again->source_path = config.source_path;  // named in the first comment line
  EXPECT_EQ(config_to_yaml(*again), first);
  EXPECT_EQ(again->services.size(), config.services.size());
}

TEST(ConfigWriter, EveryGoodConfigurationRoundTrips) {
  const std::filesystem::path good =
      std::filesystem::path(FAIRWAY_SOURCE_DIR) / "tests/config/good";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(good)) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    ConfigResult loaded = load_config_file(entry.path().string());
    ASSERT_TRUE(loaded) << loaded.error().message;
    expect_round_trip(*loaded);
    ++files;
  }
  EXPECT_GE(files, 4u);
}

TEST(ConfigWriter, EverySettingSurvives) {
  ConfigResult loaded = load_config_string(
      "workers: 1\n"
      "workers_poll: adaptive\n"
      "workers_idle: 25ms\n"
      "eal: {lcores: '0,1', args: [--no-huge, '-m', '256']}\n"
      "flow_table: {capacity: 4096, timeouts: {tcp_syn: 7s, udp: 1m30s}}\n"
      "icmp: {echo_reply: false, udp_port_unreachable: true}\n"
      "fragments: {max_datagrams: 77, max_fragments: 300, timeout: 2500ms}\n"
      "control: {listen: '127.0.0.1:9999', token: 'not-shown-anywhere', state_file: /tmp/s.yaml}\n"
      "deny_clients: [198.18.9.0/24]\n"
      "ports:\n"
      "  - {name: client, device: dev0, addresses: [198.18.0.1/24, '2001:2::1/64'],\n"
      "     mac: '02:00:00:00:00:01', tap: fw-c}\n"
      "  - {name: server, device: dev1, addresses: [198.18.1.1/24], exception_path: false}\n"
      "neighbors: [{address: 198.18.1.11, mac: '02:00:00:00:01:11', port: server}]\n"
      "routes: [{prefix: 198.18.50.0/24, via: 198.18.1.254, port: server}]\n"
      "services:\n"
      "  - name: \"web \\\"quoted\\\"\"\n"
      "    vip: 198.18.100.1\n"
      "    port: 80\n"
      "    protocol: tcp\n"
      "    mode: nat\n"
      "    syn_proxy: under_pressure\n"
      "    on_backend_down: reset\n"
      "    deny_clients: ['2001:2:9::/48']\n"
      "    health_check: {type: http, path: /ready, host: web.example, expect_status: 204,\n"
      "                   expect_body: ok, interval: 1500ms, timeout: 700ms, rise: 3, fall: 4}\n"
      "    backends:\n"
      "      - {address: 198.18.1.11, port: 8080, weight: 3, capacity: 2.5}\n"
      "      - {address: 198.18.1.12, port: 8080, drain: true}\n",
      "all.yaml");
  ASSERT_TRUE(loaded) << loaded.error().message;
  expect_round_trip(*loaded);
  const std::string text = config_to_yaml(*loaded);
  EXPECT_EQ(text.find("not-shown-anywhere"), std::string::npos) << text;
  EXPECT_NE(text.find(kRedacted), std::string::npos);
  ConfigResult back = load_config_string(text, "written.yaml");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->services[0].name, "web \"quoted\"");
  EXPECT_EQ(back->timeouts.udp_ms, 90'000u);
  EXPECT_EQ(back->state_file, "/tmp/s.yaml");
  EXPECT_TRUE(back->polling.adaptive);
  EXPECT_EQ(back->fragments, (FragmentConfig{77, 300, 2500}));
  EXPECT_EQ(back->services[0].backends[0].capacity, 2.5);
  EXPECT_TRUE(back->services[0].backends[1].drained);
  EXPECT_EQ(back->ports[1].exception_path, false);
}

}  // namespace
}  // namespace fairway
