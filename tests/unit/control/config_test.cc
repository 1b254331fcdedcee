#include "control/config.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "packet/parse.h"

namespace fairway {
namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}
IpPrefix prefix(const char* text) {
  return *IpPrefix::parse(text);
}
MacAddress mac(const char* text) {
  return *MacAddress::parse(text);
}

// Two ports on lines 1-3, so the cases below start at line 4.
constexpr const char* kPorts =
    "ports:\n"
    "  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
    "  - {name: server, device: dev1, addresses: [198.18.1.1/24, \"2001:2:0:2::1/64\"]}\n";

std::string with_ports(const std::string& rest) {
  return kPorts + rest;
}

Config load_ok(const std::string& text) {
  ConfigResult result = load_config_string(text, "t.yaml");
  EXPECT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result);
  return (result ? *result : Config{});
}

std::string load_error(const std::string& text) {
  ConfigResult result = load_config_string(text, "t.yaml");
  EXPECT_FALSE(result);
  return !result ? result.error().message : "(loaded without error)";
}

TEST(ConfigTest, FullExampleLoadsEveryField) {
  ConfigResult result =
      load_config_file(std::string(FAIRWAY_SOURCE_DIR) + "/tests/config/good/full.yaml");
  ASSERT_TRUE(result) << result.error().message;
  const Config& c = *result;
  EXPECT_EQ(c.source_path, std::string(FAIRWAY_SOURCE_DIR) + "/tests/config/good/full.yaml");
  EXPECT_EQ(c.workers, 2u);
  EXPECT_EQ(c.mbufs, 32767u);
  EXPECT_EQ(c.eal.lcores, "0@0,1@1,2@1");
  EXPECT_EQ(c.eal.args,
            (std::vector<std::string>{"--no-huge", "-m", "256", "--file-prefix", "fw-full"}));
  EXPECT_EQ(c.flow_capacity, 262144u);
  EXPECT_EQ(c.timeouts.tcp_syn_ms, 10'000u);
  EXPECT_EQ(c.timeouts.tcp_syn_under_pressure_ms, 2'000u);
  EXPECT_EQ(c.timeouts.tcp_established_ms, 7'200'000u);
  EXPECT_EQ(c.timeouts.tcp_closing_ms, 90'000u);
  EXPECT_EQ(c.timeouts.udp_ms, 500u);
  EXPECT_EQ(c.timeouts.other_ms, 45'000u);
  EXPECT_FALSE(c.answer_echo);
  EXPECT_TRUE(c.udp_port_unreachable);

  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].name, "client");
  EXPECT_EQ(c.ports[0].devices, std::vector<std::string>{"net_af_xdp0,iface=fw-c0"});
  EXPECT_EQ(c.ports[0].addresses,
            (std::vector<IpPrefix>{prefix("198.18.0.1/24"), prefix("2001:2:0:1::1/64")}));
  EXPECT_EQ(c.ports[0].mac, mac("02:00:00:00:00:01"));
  EXPECT_TRUE(c.ports[0].exception_path);
  EXPECT_EQ(c.ports[0].tap_name, "fwc");
  EXPECT_EQ(c.ports[1].name, "server");
  EXPECT_EQ(c.ports[1].devices, std::vector<std::string>{"0000:03:00.0"});
  EXPECT_FALSE(c.ports[1].mac);
  EXPECT_FALSE(c.ports[1].exception_path);
  EXPECT_EQ(c.ports[1].tap_name, "fw-server");

  ASSERT_EQ(c.neighbors.size(), 2u);
  EXPECT_EQ(c.neighbors[0].address, ip("198.18.1.10"));
  EXPECT_EQ(c.neighbors[0].mac, mac("02:00:00:00:01:0a"));
  EXPECT_EQ(c.neighbors[0].port, "server");
  EXPECT_EQ(c.neighbors[1].address, ip("2001:2:0:2::10"));

  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].prefix, prefix("0.0.0.0/0"));
  EXPECT_EQ(c.routes[0].via, ip("198.18.0.254"));
  EXPECT_EQ(c.routes[0].port, "client");
  EXPECT_EQ(c.routes[1].prefix, prefix("2001:2:0:3::/64"));
  EXPECT_FALSE(c.routes[1].via);
  EXPECT_EQ(c.routes[1].port, "server");

  ASSERT_EQ(c.services.size(), 2u);
  const ServiceConfig& web = c.services[0];
  EXPECT_EQ(web.name, "web-dsr");
  EXPECT_EQ(web.vip, ip("198.18.100.1"));
  EXPECT_EQ(web.port, 80);
  EXPECT_EQ(web.protocol, kProtoTcp);
  EXPECT_EQ(web.mode, ForwardingMode::dsr);
  EXPECT_EQ(web.missing_flow, MissingFlowPolicy::consistent);
  EXPECT_EQ(web.table_size, 65537u);
  EXPECT_EQ(web.line, 37);
  ASSERT_EQ(web.backends.size(), 2u);
  EXPECT_EQ(web.backends[0].address, ip("198.18.1.10"));
  EXPECT_EQ(web.backends[0].port, 80);
  EXPECT_EQ(web.backends[0].weight, 3u);
  EXPECT_EQ(web.backends[1].address, ip("198.18.1.11"));
  EXPECT_EQ(web.backends[1].port, 80);
  EXPECT_EQ(web.backends[1].weight, 1u);
  const ServiceConfig& dns = c.services[1];
  EXPECT_EQ(dns.name, "dns-nat");
  EXPECT_EQ(dns.vip, ip("2001:2:0:100::1"));
  EXPECT_EQ(dns.port, 53);
  EXPECT_EQ(dns.protocol, kProtoUdp);
  EXPECT_EQ(dns.mode, ForwardingMode::nat);
  EXPECT_EQ(dns.missing_flow, MissingFlowPolicy::strict);
  EXPECT_EQ(dns.table_size, 251u);
  ASSERT_EQ(dns.backends.size(), 2u);
  EXPECT_EQ(dns.backends[0].port, 5353);
  EXPECT_EQ(dns.backends[0].weight, 0u);
}

TEST(ConfigTest, DefaultsApplyWhenKeysAreAbsent) {
  Config c = load_ok(
      "ports:\n"
      "  - name: client\n"
      "    device: dev0\n"
      "services:\n"
      "  - vip: 198.18.100.1\n"
      "    port: 80\n"
      "    protocol: udp\n"
      "    backends: [{address: 198.18.1.10}]\n"
      "  - vip: \"2001:2::100\"\n"
      "    port: 443\n"
      "    protocol: tcp\n"
      "    backends: [{address: \"2001:2::10\"}]\n");
  Config defaults;
  EXPECT_EQ(c.workers, defaults.workers);
  EXPECT_EQ(c.mbufs, 16383u);
  EXPECT_EQ(c.flow_capacity, 1u << 20);
  EXPECT_EQ(c.timeouts.tcp_syn_ms, 30'000u);
  EXPECT_EQ(c.timeouts.tcp_syn_under_pressure_ms, 3'000u);
  EXPECT_EQ(c.timeouts.tcp_established_ms, 900'000u);
  EXPECT_EQ(c.timeouts.tcp_closing_ms, 30'000u);
  EXPECT_EQ(c.timeouts.udp_ms, 300'000u);
  EXPECT_EQ(c.timeouts.other_ms, 60'000u);
  EXPECT_TRUE(c.answer_echo);
  EXPECT_FALSE(c.udp_port_unreachable);
  EXPECT_TRUE(c.eal.args.empty());
  EXPECT_TRUE(c.eal.lcores.empty());
  EXPECT_TRUE(c.neighbors.empty());
  EXPECT_TRUE(c.routes.empty());
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_TRUE(c.ports[0].addresses.empty());
  EXPECT_FALSE(c.ports[0].mac);
  EXPECT_TRUE(c.ports[0].exception_path);
  EXPECT_EQ(c.ports[0].tap_name, "fw-client");
  ASSERT_EQ(c.services.size(), 2u);
  EXPECT_EQ(c.services[0].name, "198.18.100.1:80/udp");
  EXPECT_EQ(c.services[0].mode, ForwardingMode::dsr);
  EXPECT_EQ(c.services[0].missing_flow, MissingFlowPolicy::consistent);
  EXPECT_EQ(c.services[0].table_size, 65537u);
  EXPECT_EQ(c.services[0].line, 5);
  EXPECT_EQ(c.services[0].backends[0].port, 80);
  EXPECT_EQ(c.services[0].backends[0].weight, 1u);
  EXPECT_EQ(c.services[1].name, "[2001:2::100]:443/tcp");
  EXPECT_EQ(c.services[1].line, 9);
}

TEST(ConfigTest, DurationsAcceptSecondsAndUnits) {
  struct Case {
    const char* text;
    uint64_t ms;
  } cases[] = {
      {"30", 30'000}, {"30s", 30'000},   {"15m", 900'000},    {"1h", 3'600'000},
      {"500ms", 500}, {"1m30s", 90'000}, {"\"45s\"", 45'000}, {"168h", 168ull * 3'600'000}};
  for (const Case& c : cases) {
    Config config =
        load_ok(with_ports("flow_table: {timeouts: {udp: " + std::string(c.text) + "}}"));
    EXPECT_EQ(config.timeouts.udp_ms, c.ms) << c.text;
  }
}

TEST(ConfigTest, WorkersPollAdaptiveWithItsIdleTime) {
  Config adaptive = load_ok(with_ports("workers_poll: adaptive\nworkers_idle: 20ms\n"));
  EXPECT_TRUE(adaptive.polling.adaptive);
  EXPECT_EQ(adaptive.polling.idle_ms, 20u);
  EXPECT_FALSE(load_ok(kPorts).polling.adaptive);
}

TEST(ConfigTest, FragmentsDefaultsSettingsAndLimits) {
  const FragmentConfig defaults = load_ok(kPorts).fragments;
  EXPECT_TRUE(defaults.enabled());
  EXPECT_EQ(defaults.max_datagrams, 1024u);
  EXPECT_EQ(defaults.max_fragments, 4096u);
  EXPECT_EQ(defaults.timeout_ms, 1000u);
  const FragmentConfig set =
      load_ok(with_ports("fragments: {max_datagrams: 64, max_fragments: 512, timeout: 250ms}\n"))
          .fragments;
  EXPECT_EQ(set.max_datagrams, 64u);
  EXPECT_EQ(set.max_fragments, 512u);
  EXPECT_EQ(set.timeout_ms, 250u);
  EXPECT_FALSE(load_ok(with_ports("fragments: {max_datagrams: 0}\n")).fragments.enabled());
  EXPECT_EQ(load_error(with_ports("fragments: {max_fragments: 10}\n")),
            "t.yaml:4:28: fragments.max_fragments: value 10 is out of range, expected an integer "
            "64..1048576");
  EXPECT_EQ(load_error(with_ports("fragments: {timeout: 5ms}\n")),
            "t.yaml:4:22: fragments.timeout: duration 5ms is out of range, expected 10ms..1m");
  EXPECT_NE(load_error(with_ports("fragments: {max_datagram: 5}\n"))
                .find("unknown key 'max_datagram' (did you mean 'max_datagrams'?)"),
            std::string::npos);
}

TEST(ConfigTest, DurationsRejectOtherForms) {
  const char* bad[] = {"30sec", "1d", "s", "-1s", "1.5s", "\"30\"", "5 m", "[30]"};
  for (const char* text : bad) {
    std::string error =
        load_error(with_ports("flow_table: {timeouts: {udp: " + std::string(text) + "}}"));
    EXPECT_NE(error.find("t.yaml:4:"), std::string::npos) << error;
    EXPECT_NE(error.find("flow_table.timeouts.udp: expected a duration"), std::string::npos)
        << error;
  }
  EXPECT_EQ(load_error(with_ports("flow_table: {timeouts: {udp: 50ms}}")),
            "t.yaml:4:30: flow_table.timeouts.udp: duration 50ms is out of range, expected "
            "100ms..168h");
  EXPECT_EQ(load_error(with_ports("flow_table: {timeouts: {udp: 99999999999999999h}}")),
            "t.yaml:4:30: flow_table.timeouts.udp: duration 99999999999999999h is out of range, "
            "expected 100ms..168h");
  EXPECT_EQ(load_error(with_ports("flow_table: {timeouts: {udp: 604801}}")),
            "t.yaml:4:30: flow_table.timeouts.udp: duration 604801 is out of range, expected "
            "100ms..168h");
  EXPECT_EQ(load_error(with_ports("flow_table: {timeouts: {udp: 169h}}")),
            "t.yaml:4:30: flow_table.timeouts.udp: duration 169h is out of range, expected "
            "100ms..168h");
}

struct BadCase {
  const char* what;
  std::string yaml;
  std::string error;
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.what;
}

// A service on line 5 (after "services:" on line 4), with `extra` lines before its back-ends.
std::string service(const std::string& extra, const std::string& backends) {
  return with_ports(
      "services:\n"
      "  - vip: 198.18.100.1\n"
      "    port: 80\n"
      "    protocol: tcp\n" +
      extra + "    backends: " + backends + "\n");
}

std::vector<BadCase> bad_cases() {
  return {
      {"yaml syntax", with_ports("services: [\n"),
       "t.yaml:5:1: syntax error: end of sequence flow not found"},
      {"top level not a map", "- a\n", "t.yaml:1:1: top level: expected a map, got a list"},
      {"empty file", "# nothing\n",
       "t.yaml:1:1: top level: the file is empty, expected a map with at least 'ports'"},
      {"unknown top-level key", with_ports("servces: []\n"),
       "t.yaml:4:1: servces: unknown key 'servces' (did you mean 'services'?); allowed keys here: "
       "workers, workers_poll, workers_idle, mbufs, eal, flow_table, icmp, control, ports, "
       "neighbors, routes, services, "
       "load_feedback, exception_path, deny_clients, syn_cookies, announce, flow_sync, fragments"},
      {"unknown nested key", service("    weight: 2\n", "[{address: 198.18.1.10}]"),
       "t.yaml:8:5: services[0].weight: unknown key 'weight'; allowed keys here: name, vip, port, "
       "protocol, mode, missing_flow, table_size, on_backend_down, health_check, scheduler, "
       "least_load, pools, backends, deny_clients, syn_proxy"},
      {"unknown polling mode", with_ports("workers_poll: lazy\n"),
       "t.yaml:4:15: workers_poll: expected one of busy, adaptive, got 'lazy'"},
      {"duplicate key", with_ports("workers: 1\nworkers: 2\n"),
       "t.yaml:5:1: workers: key 'workers' appears twice (first at line 4); give it once"},
      {"wrong type", with_ports("workers: [1]\n"),
       "t.yaml:4:10: workers: expected an integer 1..64, got a list"},
      {"quoted number", with_ports("mbufs: \"4095\"\n"),
       "t.yaml:4:8: mbufs: expected an integer 1023..67108863, got the quoted string '4095'"},
      {"number out of range", with_ports("workers: 0\n"),
       "t.yaml:4:10: workers: value 0 is out of range, expected an integer 1..64"},
      {"negative number", with_ports("flow_table: {capacity: -1}\n"),
       "t.yaml:4:24: flow_table.capacity: expected an integer 1024..67108864, got '-1'"},
      {"bad boolean", with_ports("icmp: {echo_reply: yes}\n"),
       "t.yaml:4:20: icmp.echo_reply: expected true or false, got 'yes'"},
      {"bad duration", with_ports("flow_table:\n  timeouts:\n    tcp_syn: 30 s\n"),
       "t.yaml:6:14: flow_table.timeouts.tcp_syn: expected a duration: integer seconds or a "
       "string like \"500ms\", \"30s\", \"15m\", \"1h\", got '30 s'"},
      {"empty value", with_ports("eal:\n  lcores:\n"),
       "t.yaml:5:3: eal.lcores: expected a string, got an empty value"},
      {"no ports", "ports: []\n",
       "t.yaml:1:8: ports: expected at least one port, got an empty list"},
      {"ports missing", "workers: 2\n",
       "t.yaml:1:1: ports: missing required key 'ports' (a list of at least one port)"},
      {"device missing", "ports:\n  - name: client\n    mac: \"02:00:00:00:00:01\"\n",
       "t.yaml:2:5: ports[0].device: missing required key 'device' (a DPDK device argument or PCI "
       "address)"},
      {"bad port name", "ports:\n  - {name: \"a b\", device: d}\n",
       "t.yaml:2:12: ports[0].name: 'a b' is not a valid name, expected letters, digits, '_', '-' "
       "or "
       "'.'"},
      {"duplicate port name", with_ports("  - {name: client, device: dev2}\n"),
       "t.yaml:4:12: ports[2].name: duplicate port name 'client', first defined at line 2"},
      {"duplicate device", with_ports("  - {name: third, device: dev1}\n"),
       "t.yaml:4:27: ports[2].device: duplicate device 'dev1', first defined at line 3"},
      {"bad prefix", "ports:\n  - {name: c, device: d, addresses: [198.18.0.1/40]}\n",
       "t.yaml:2:38: ports[0].addresses[0]: expected an address with a prefix length (e.g. "
       "198.18.0.1/24, \"2001:2::1/64\"), got '198.18.0.1/40'"},
      {"address on two ports",
       with_ports("  - {name: x, device: dev2, addresses: [198.18.0.1/32]}\n"),
       "t.yaml:4:41: ports[2].addresses[0]: duplicate port address 198.18.0.1, first defined at "
       "line 2"},
      {"bad mac", "ports:\n  - {name: c, device: d, mac: \"02:00:00:00:00:zz\"}\n",
       "t.yaml:2:31: ports[0].mac: expected a MAC address like \"02:00:00:00:00:01\", got "
       "'02:00:00:00:00:zz'"},
      {"default TAP name too long", "ports:\n  - {name: abcdefghijklm, device: d}\n",
       "t.yaml:2:12: ports[0].name: TAP name 'fw-abcdefghijklm' is 16 characters, expected at most "
       "15 (Linux interface name); shorten the port name or set 'tap'"},
      {"TAP name too long", "ports:\n  - {name: a, device: d, tap: abcdefghijklmnop}\n",
       "t.yaml:2:31: ports[0].tap: TAP name 'abcdefghijklmnop' is 16 characters, expected at most "
       "15 (Linux interface name)"},
      {"duplicate TAP name", with_ports("  - {name: x, device: dev2, tap: fw-server}\n"),
       "t.yaml:4:34: ports[2].tap: duplicate TAP name 'fw-server', first defined at line 3"},
      {"neighbor unknown port",
       with_ports(
           "neighbors:\n  - {address: 198.18.1.10, mac: \"02:00:00:00:01:0a\", port: srv}\n"),
       "t.yaml:5:60: neighbors[0].port: unknown port 'srv', expected one of the ports: client, "
       "server"},
      {"neighbor bad address",
       with_ports(
           "neighbors:\n  - {address: 198.18.1, mac: \"02:00:00:00:01:0a\", port: server}\n"),
       "t.yaml:5:15: neighbors[0].address: expected an IPv4 or IPv6 address (e.g. 198.18.0.1, "
       "\"2001:2::1\"), got '198.18.1'"},
      {"neighbor missing mac", with_ports("neighbors:\n  - {address: 198.18.1.10, port: server}\n"),
       "t.yaml:5:5: neighbors[0].mac: missing required key 'mac' (the neighbor's MAC address)"},
      {"route unknown port",
       with_ports("routes:\n  - {prefix: 0.0.0.0/0, via: 198.18.0.254, port: up}\n"),
       "t.yaml:5:50: routes[0].port: unknown port 'up', expected one of the ports: client, server"},
      {"route via family",
       with_ports("routes:\n  - {prefix: 0.0.0.0/0, via: \"2001:2::1\", port: client}\n"),
       "t.yaml:5:30: routes[0].via: gateway 2001:2::1 is IPv6, expected an IPv4 address like the "
       "prefix"},
      {"route host bits", with_ports("routes:\n  - {prefix: 198.18.5.5/16, port: client}\n"),
       "t.yaml:5:14: routes[0].prefix: prefix 198.18.5.5/16 has host bits set, expected "
       "198.18.0.0/16"},
      {"service missing vip",
       with_ports("services:\n  - {port: 80, protocol: tcp, backends: []}\n"),
       "t.yaml:5:5: services[0].vip: missing required key 'vip' (the virtual IP address clients "
       "connect to)"},
      {"service missing backends",
       with_ports("services:\n  - vip: 198.18.100.1\n    port: 80\n    protocol: tcp\n"),
       "t.yaml:5:5: services[0].backends: missing required key 'backends' (a list of at least one "
       "back-end)"},
      {"bad vip", with_ports("services:\n  - {vip: 198.18.100.1.1, port: 80, protocol: tcp}\n"),
       "t.yaml:5:11: services[0].vip: expected an IPv4 or IPv6 address (e.g. 198.18.0.1, "
       "\"2001:2::1\"), got '198.18.100.1.1'"},
      {"vip is a port address",
       with_ports("services:\n  - {vip: 198.18.1.1, port: 80, protocol: tcp, backends: []}\n"),
       "t.yaml:5:11: services[0].vip: VIP 198.18.1.1 is an address of port 'server', expected an "
       "address that is not the box's own"},
      {"port out of range", with_ports("services:\n  - {vip: 198.18.100.1, port: 65536}\n"),
       "t.yaml:5:31: services[0].port: value 65536 is out of range, expected an integer 1..65535"},
      {"bad protocol", with_ports("services:\n  - {vip: 198.18.100.1, port: 80, protocol: icmp}\n"),
       "t.yaml:5:45: services[0].protocol: expected one of tcp, udp, got 'icmp'"},
      {"bad mode", service("    mode: proxy\n", "[{address: 198.18.1.10}]"),
       "t.yaml:8:11: services[0].mode: expected one of dsr, nat, got 'proxy'"},
      {"bad missing_flow", service("    missing_flow: reset\n", "[{address: 198.18.1.10}]"),
       "t.yaml:8:19: services[0].missing_flow: expected one of consistent, strict, got 'reset'"},
      {"empty backends", service("", "[]"),
       "t.yaml:8:15: services[0].backends: service '198.18.100.1:80/tcp' has no back-ends, "
       "expected at least one"},
      {"bad backend address", service("", "[{address: 198.18.1.10}, {address: server1}]"),
       "t.yaml:8:50: services[0].backends[1].address: expected an IPv4 or IPv6 address (e.g. "
       "198.18.0.1, \"2001:2::1\"), got 'server1'"},
      {"backend family", service("", "[{address: \"2001:2:0:2::10\"}]"),
       "t.yaml:8:26: services[0].backends[0].address: back-end 2001:2:0:2::10 is IPv6 but VIP "
       "198.18.100.1 is IPv4, expected the same family"},
      {"backend weight", service("", "[{address: 198.18.1.10, weight: 65536}]"),
       "t.yaml:8:47: services[0].backends[0].weight: value 65536 is out of range, expected an "
       "integer 0..65535"},
      {"dsr port mismatch", service("", "[{address: 198.18.1.10, port: 8080}]"),
       "t.yaml:8:45: services[0].backends[0].port: dsr cannot change the port: back-end port 8080 "
       "differs from the service port 80, expected 80 or mode: nat"},
      {"duplicate backend",
       service("", "\n      - {address: 198.18.1.10}\n      - {address: 198.18.1.10, port: 80}"),
       "t.yaml:10:9: services[0].backends[1]: duplicate back-end 198.18.1.10:80, first defined at "
       "line 9"},
      {"table_size not prime", service("    table_size: 1000\n", "[{address: 198.18.1.10}]"),
       "t.yaml:8:17: services[0].table_size: table_size 1000 is not prime, expected a prime such "
       "as 65537 (Maglev needs a prime size)"},
      {"table_size out of range", service("    table_size: 5\n", "[{address: 198.18.1.10}]"),
       "t.yaml:8:17: services[0].table_size: value 5 is out of range, expected an integer "
       "7..1000003"},
      {"table_size not above backends",
       service("    table_size: 7\n",
               "[{address: 198.18.1.1}, {address: 198.18.1.2}, {address: 198.18.1.3}, "
               "{address: 198.18.1.4}, {address: 198.18.1.5}, {address: 198.18.1.6}, "
               "{address: 198.18.1.7}]"),
       "t.yaml:8:17: services[0].table_size: table_size 7 is not greater than the 7 back-ends, "
       "expected a larger prime (Maglev needs more slots than back-ends)"},
      {"duplicate service",
       with_ports(
           "services:\n"
           "  - {vip: 198.18.100.1, port: 80, protocol: tcp, backends: [{address: 198.18.1.10}]}\n"
           "  - {vip: 198.18.100.1, port: 80, protocol: tcp, backends: [{address: "
           "198.18.1.11}]}\n"),
       "t.yaml:6:5: services[1]: duplicate service 198.18.100.1:80/tcp, first defined at line 5"},
      {"duplicate service name",
       with_ports("services:\n"
                  "  - {name: a, vip: 198.18.100.1, port: 80, protocol: tcp, backends: [{address: "
                  "198.18.1.10}]}\n"
                  "  - {name: a, vip: 198.18.100.1, port: 81, protocol: tcp, backends: [{address: "
                  "198.18.1.10}]}\n"),
       "t.yaml:6:12: services[1].name: duplicate service name 'a', first defined at line 5"},
      {"nat backend in two nat services",
       with_ports("services:\n"
                  "  - {name: a, vip: 198.18.100.1, port: 80, protocol: tcp, mode: nat,\n"
                  "     backends: [{address: 198.18.1.10, port: 8000}]}\n"
                  "  - {name: b, vip: 198.18.100.2, port: 80, protocol: tcp, mode: nat,\n"
                  "     backends: [{address: 198.18.1.10, port: 8000}]}\n"),
       "t.yaml:8:17: services[1].backends[0]: back-end 198.18.1.10:8000/tcp of nat service 'b' "
       "already belongs to nat service 'a' (line 6), expected each nat back-end endpoint in one "
       "nat "
       "service only"},
      {"second document", with_ports("---\nworkers: 2\n"),
       "t.yaml:4:1: top level: a second YAML document ('---'), expected the whole configuration in "
       "one document"},
  };
}

class BadConfigTest : public testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, FailsWithOneExactLine) {
  const BadCase& c = GetParam();
  ConfigResult result = load_config_string(c.yaml, "t.yaml");
  EXPECT_FALSE(result);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, c.error) << "--- yaml:\n" << c.yaml;
  EXPECT_EQ(result.error().message.find('\n'), std::string::npos);
}

std::string case_name(const testing::TestParamInfo<BadCase>& info) {
  std::string name;
  for (char ch : std::string(info.param.what)) name += std::isalnum(uint8_t(ch)) ? ch : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Mistakes, BadConfigTest, testing::ValuesIn(bad_cases()), case_name);

TEST(ConfigTest, NatBackendMayServeOneNatAndAnyDsrService) {
  // The same endpoint in a dsr service and a nat service is fine: dsr replies bypass the box.
  // The same address on another port, or for another protocol, is another endpoint.
  Config c = load_ok(with_ports(
      "services:\n"
      "  - {vip: 198.18.100.1, port: 80, protocol: tcp, backends: [{address: 198.18.1.10}]}\n"
      "  - {vip: 198.18.100.2, port: 80, protocol: tcp, mode: nat,\n"
      "     backends: [{address: 198.18.1.10, port: 80}]}\n"
      "  - {vip: 198.18.100.3, port: 80, protocol: tcp, mode: nat,\n"
      "     backends: [{address: 198.18.1.10, port: 81}]}\n"
      "  - {vip: 198.18.100.3, port: 80, protocol: udp, mode: nat,\n"
      "     backends: [{address: 198.18.1.10, port: 80}]}\n"));
  EXPECT_EQ(c.services.size(), 4u);
}

TEST(ConfigTest, MissingFileIsAnError) {
  ConfigResult result = load_config_file("/nonexistent/fairway.yaml");
  EXPECT_FALSE(result);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            "/nonexistent/fairway.yaml: cannot read the file: No such file or directory");
}

TEST(ConfigTest, NeverThrowsOnGarbage) {
  const std::string inputs[] = {
      std::string("\0\1\2\xff", 4), "{{{{",       "[",    "*alias", "!!binary x",
      std::string(10000, '['),      "a: &x [*x]", "\t- x"};
  for (const std::string& input : inputs) {
    std::optional<ConfigResult> result;
    EXPECT_NO_THROW(result.emplace(load_config_string(input, "g.yaml")));
    ASSERT_TRUE(result.has_value());
    ASSERT_FALSE(*result);
    EXPECT_EQ(result->error().message.rfind("g.yaml:", 0), 0u) << result->error().message;
  }
}

// The example files that test_check.py runs through `fairwayd --check` also load here, so the
// loader is covered even when the daemon cannot be built.
std::string expectation(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  const std::string marker = "# expect: ";
  return first.rfind(marker, 0) == 0 ? first.substr(marker.size()) : "";
}

TEST(ConfigTest, ExampleFilesBehaveAsAnnotated) {
  std::filesystem::path root = std::filesystem::path(FAIRWAY_SOURCE_DIR) / "tests/config";
  int good = 0, bad = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root / "good")) {
    if (entry.path().extension() != ".yaml") continue;
    ConfigResult result = load_config_file(entry.path().string());
    EXPECT_TRUE(result) << result.error().message;
    ++good;
  }
  for (const auto& entry : std::filesystem::directory_iterator(root / "bad")) {
    if (entry.path().extension() != ".yaml") continue;
    ConfigResult result = load_config_file(entry.path().string());
    std::string expected = expectation(entry.path());
    ASSERT_FALSE(expected.empty()) << entry.path() << " has no '# expect:' first line";
    ASSERT_FALSE(result) << entry.path();
    EXPECT_EQ(result.error().message.rfind(entry.path().string() + ":", 0), 0u)
        << result.error().message;
    EXPECT_NE(result.error().message.find(expected), std::string::npos)
        << result.error().message << "\nexpected to contain: " << expected;
    ++bad;
  }
  EXPECT_GE(good, 3);
  EXPECT_GE(bad, 20);
}

}  // namespace
// Inputs the config fuzzer found hanging yaml-cpp's LoadAll: each must end with an error.
TEST(ConfigTest, FuzzerReproducersEndWithAnError) {
  for (const char* name :
       {"config_yaml_loadall_hang_comma.yaml", "config_yaml_loadall_hang_after_document.yaml"}) {
    ConfigResult r =
        load_config_file(std::string(FAIRWAY_SOURCE_DIR) + "/tests/fuzz/crashes/" + name);
    EXPECT_FALSE(r) << name;
  }
  EXPECT_FALSE(load_config_string(",", "t.yaml"));
}

// Health checks, on_backend_down and drain.
namespace {

TEST(ConfigTest, HealthCheckFieldsLoad) {
  Config c = load_ok(
      service("    on_backend_down: reset\n"
              "    health_check:\n"
              "      type: http\n"
              "      port: 8080\n"
              "      path: /healthz?full=1\n"
              "      host: example.test\n"
              "      expect_status: 204\n"
              "      expect_body: \"all ok\"\n"
              "      interval: 500ms\n"
              "      timeout: 250ms\n"
              "      rise: 5\n"
              "      fall: 1\n",
              "[{address: 198.18.1.10, drain: true}, {address: 198.18.1.11, drain: false}]"));
  ASSERT_EQ(c.services.size(), 1u);
  const ServiceConfig& s = c.services[0];
  EXPECT_EQ(s.on_backend_down, BackendDownPolicy::reset);
  ASSERT_TRUE(s.health_check);
  HealthCheckConfig expected;
  expected.type = HealthCheckConfig::Type::http;
  expected.port = 8080;
  expected.path = "/healthz?full=1";
  expected.host = "example.test";
  expected.expect_status = 204;
  expected.expect_body = "all ok";
  expected.interval_ms = 500;
  expected.timeout_ms = 250;
  expected.rise = 5;
  expected.fall = 1;
  EXPECT_EQ(*s.health_check, expected);
  ASSERT_EQ(s.backends.size(), 2u);
  EXPECT_TRUE(s.backends[0].drained);
  EXPECT_FALSE(s.backends[1].drained);
}

TEST(ConfigTest, HealthCheckDefaults) {
  Config none = load_ok(service("", "[{address: 198.18.1.10}]"));
  EXPECT_FALSE(none.services[0].health_check);
  EXPECT_EQ(none.services[0].on_backend_down, BackendDownPolicy::keep);
  EXPECT_FALSE(none.services[0].backends[0].drained);

  Config empty = load_ok(service("    health_check: {}\n", "[{address: 198.18.1.10}]"));
  ASSERT_TRUE(empty.services[0].health_check);
  const HealthCheckConfig& check = *empty.services[0].health_check;
  EXPECT_EQ(check, HealthCheckConfig{});
  EXPECT_EQ(check.type, HealthCheckConfig::Type::tcp);
  EXPECT_EQ(check.port, 0);
  EXPECT_EQ(check.path, "/");
  EXPECT_EQ(check.host, "");
  EXPECT_EQ(check.expect_status, 200);
  EXPECT_EQ(check.expect_body, "");
  EXPECT_EQ(check.interval_ms, 2000u);
  EXPECT_EQ(check.timeout_ms, 1000u);
  EXPECT_EQ(check.rise, 2u);
  EXPECT_EQ(check.fall, 3u);

  // Bounds that are allowed: timeout equal to the interval, the extreme rise and fall.
  Config edges = load_ok(service(
      "    health_check: {type: tcp, interval: 100ms, timeout: 100ms, rise: 100, fall: 1}\n",
      "[{address: 198.18.1.10}]"));
  EXPECT_EQ(edges.services[0].health_check->interval_ms, 100u);
  EXPECT_EQ(edges.services[0].health_check->timeout_ms, 100u);
  Config slow = load_ok(
      service("    health_check: {interval: 1h, timeout: 10ms}\n", "[{address: 198.18.1.10}]"));
  EXPECT_EQ(slow.services[0].health_check->interval_ms, 3'600'000u);
  EXPECT_EQ(slow.services[0].health_check->timeout_ms, 10u);
}

std::string with_check(const std::string& check) {
  return service("    health_check: " + check + "\n", "[{address: 198.18.1.10}]");
}

std::vector<BadCase> health_bad_cases() {
  return {
      {"health_check not a map", with_check("http"),
       "t.yaml:8:19: services[0].health_check: expected a map, got 'http'"},
      {"health_check empty", with_check(""),
       "t.yaml:8:5: services[0].health_check: expected a map, got an empty value"},
      {"health_check unknown key", with_check("{type: tcp, intervall: 2s}"),
       "t.yaml:8:31: services[0].health_check.intervall: unknown key 'intervall' (did you mean "
       "'interval'?); allowed keys here: type, port, path, host, expect_status, expect_body, "
       "interval, timeout, rise, fall"},
      {"health_check type", with_check("{type: udp}"),
       "t.yaml:8:26: services[0].health_check.type: expected one of tcp, http, got 'udp'"},
      {"health_check port", with_check("{port: 0}"),
       "t.yaml:8:26: services[0].health_check.port: value 0 is out of range, expected an integer "
       "1..65535"},
      {"health_check path without slash", with_check("{type: http, path: healthz}"),
       "t.yaml:8:38: services[0].health_check.path: path 'healthz' does not start with '/', "
       "expected an absolute path such as /healthz"},
      {"health_check path with space", with_check("{type: http, path: \"/a b\"}"),
       "t.yaml:8:38: services[0].health_check.path: path '/a b' contains a space or control "
       "character, expected a URL path (encode a space as %20)"},
      {"health_check path with newline", with_check("{type: http, path: \"/a\\r\\nX: y\"}"),
       "t.yaml:8:38: services[0].health_check.path: path '/a??X: y' contains a space or control "
       "character, expected a URL path (encode a space as %20)"},
      {"health_check host", with_check("{type: http, host: \"a b\"}"),
       "t.yaml:8:38: services[0].health_check.host: host 'a b' contains a space or control "
       "character, expected a host name such as example.test"},
      {"health_check expect_status", with_check("{type: http, expect_status: 600}"),
       "t.yaml:8:47: services[0].health_check.expect_status: value 600 is out of range, expected "
       "an integer 100..599"},
      {"health_check expect_body empty", with_check("{type: http, expect_body: \"\"}"),
       "t.yaml:8:45: services[0].health_check.expect_body: expected a non-empty string"},
      {"health_check path on tcp", with_check("{path: /healthz}"),
       "t.yaml:8:26: services[0].health_check.path: 'path' is only for type: http, expected type: "
       "http or no 'path' (a tcp check only connects)"},
      {"health_check expect_body on tcp", with_check("{type: tcp, expect_body: ok}"),
       "t.yaml:8:44: services[0].health_check.expect_body: 'expect_body' is only for type: http, "
       "expected type: http or no 'expect_body' (a tcp check only connects)"},
      {"health_check host on tcp", with_check("{type: tcp, host: a}"),
       "t.yaml:8:37: services[0].health_check.host: 'host' is only for type: http, expected type: "
       "http or no 'host' (a tcp check only connects)"},
      {"health_check expect_status on tcp", with_check("{expect_status: 200}"),
       "t.yaml:8:35: services[0].health_check.expect_status: 'expect_status' is only for type: "
       "http, expected type: http or no 'expect_status' (a tcp check only connects)"},
      {"health_check interval too short", with_check("{interval: 50ms}"),
       "t.yaml:8:30: services[0].health_check.interval: duration 50ms is out of range, expected "
       "100ms..1h"},
      {"health_check interval too long", with_check("{interval: 2h}"),
       "t.yaml:8:30: services[0].health_check.interval: duration 2h is out of range, expected "
       "100ms..1h"},
      {"health_check bad timeout", with_check("{timeout: soon}"),
       "t.yaml:8:29: services[0].health_check.timeout: expected a duration: integer seconds or a "
       "string like \"500ms\", \"30s\", \"15m\", \"1h\", got 'soon'"},
      {"health_check timeout too short", with_check("{timeout: 5ms}"),
       "t.yaml:8:29: services[0].health_check.timeout: duration 5ms is out of range, expected "
       "10ms..1h"},
      {"health_check timeout above interval", with_check("{interval: 2s, timeout: 3s}"),
       "t.yaml:8:43: services[0].health_check.timeout: timeout 3s is longer than the interval 2s, "
       "expected at most the interval"},
      {"health_check interval below default timeout", with_check("{interval: 500ms}"),
       "t.yaml:8:30: services[0].health_check.interval: interval 500ms is shorter than the "
       "default timeout 1s, expected at least the timeout (or set a shorter 'timeout')"},
      {"health_check rise", with_check("{rise: 0}"),
       "t.yaml:8:26: services[0].health_check.rise: value 0 is out of range, expected an integer "
       "1..100"},
      {"health_check fall", with_check("{fall: 101}"),
       "t.yaml:8:26: services[0].health_check.fall: value 101 is out of range, expected an "
       "integer 1..100"},
      {"health_check quoted rise", with_check("{rise: \"2\"}"),
       "t.yaml:8:26: services[0].health_check.rise: expected an integer 1..100, got the quoted "
       "string '2'"},
      {"on_backend_down", service("    on_backend_down: drop\n", "[{address: 198.18.1.10}]"),
       "t.yaml:8:22: services[0].on_backend_down: expected one of keep, reset, got 'drop'"},
      {"backend drain", service("", "[{address: 198.18.1.10, drain: yes}]"),
       "t.yaml:8:46: services[0].backends[0].drain: expected true or false, got 'yes'"},
      {"backend unknown key", service("", "[{address: 198.18.1.10, drained: true}]"),
       "t.yaml:8:39: services[0].backends[0].drained: unknown key 'drained' (did you mean "
       "'drain'?); allowed keys here: address, port, weight, drain, capacity"},
  };
}

INSTANTIATE_TEST_SUITE_P(HealthMistakes, BadConfigTest, testing::ValuesIn(health_bad_cases()),
                         case_name);

TEST(ConfigTest, SourceHashScheduler) {
  ConfigResult result = load_config_string(
      service("    scheduler: source-hash\n", "[{address: 198.18.1.10}]"), "t.yaml");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->services.at(0).scheduler, Scheduler::source_hash);
  EXPECT_STREQ(scheduler_name(Scheduler::source_hash), "source-hash");
  EXPECT_STREQ(scheduler_name(Scheduler::least_load), "least-load");
  EXPECT_STREQ(scheduler_name(Scheduler::maglev), "maglev");
}

TEST(ConfigTest, LoadFeedbackLeastLoadAndPools) {
  ConfigResult result =
      load_config_file(std::string(FAIRWAY_SOURCE_DIR) + "/tests/config/good/load_feedback.yaml");
  ASSERT_TRUE(result) << result.error().message;
  const Config& c = *result;
  EXPECT_EQ(c.load_feedback.key, "0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(c.load_feedback.enabled());
  EXPECT_EQ(c.load_feedback.report_interval_ms, 500u);
  EXPECT_EQ(c.load_feedback.stale_after, 4u);
  EXPECT_EQ(c.load_feedback.max_clock_skew_ms, 10'000u);
  const ServiceConfig& web = c.services.at(0);
  EXPECT_EQ(web.scheduler, Scheduler::least_load);
  EXPECT_EQ(web.least_load.metric, LoadMetric::clients);
  EXPECT_DOUBLE_EQ(web.least_load.params.smoothing, 0.4);
  EXPECT_DOUBLE_EQ(web.least_load.params.gain, 0.6);
  EXPECT_DOUBLE_EQ(web.least_load.params.max_step, 0.2);
  EXPECT_DOUBLE_EQ(web.least_load.params.dead_band, 0.1);
  EXPECT_DOUBLE_EQ(web.least_load.params.min_factor, 0.1);
  EXPECT_DOUBLE_EQ(web.least_load.params.max_factor, 10);
  EXPECT_DOUBLE_EQ(web.least_load.params.idle_load, 2);
  EXPECT_DOUBLE_EQ(web.least_load.params.response, 0.3);
  EXPECT_DOUBLE_EQ(web.backends.at(0).capacity, 2);
  EXPECT_DOUBLE_EQ(web.backends.at(1).capacity, 0.5);
  ASSERT_EQ(web.pools.size(), 1u);
  EXPECT_EQ(web.pools[0].name, "beta-testers");
  EXPECT_EQ(web.pools[0].clients, std::vector<IpPrefix>{prefix("198.18.0.128/25")});
  EXPECT_EQ(web.pools[0].backends, std::vector<IpAddress>{ip("198.18.1.12")});
  EXPECT_EQ(c.services.at(1).scheduler, Scheduler::maglev);
  EXPECT_FALSE(Config{}.load_feedback.enabled());
}

}  // namespace
}  // namespace fairway

namespace fairway {
namespace {

TEST(ConfigEdge, ExceptionPathAndDenyListsLoad) {
  ConfigResult r = load_config_string(
      "exception_path: {queue_size: 256, icmp_pps: 50, other_pps: 3000}\n"
      "deny_clients: [198.18.9.0/24, \"2001:2:9::/48\"]\n"
      "ports:\n  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n"
      "services:\n  - {vip: 198.18.100.1, port: 80, protocol: tcp, deny_clients: [198.18.7.7/32],\n"
      "     backends: [{address: 198.18.0.10}]}\n",
      "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exception_path.queue_size, 256u);
  EXPECT_EQ(r->exception_path.icmp_pps, 50u);
  EXPECT_EQ(r->exception_path.other_pps, 3000u);
  EXPECT_EQ(r->deny_clients.size(), 2u);
  EXPECT_EQ(r->services[0].deny_clients, std::vector<IpPrefix>{*IpPrefix::parse("198.18.7.7/32")});
  Config defaults;
  EXPECT_EQ(defaults.exception_path.queue_size, 1024u);
  EXPECT_EQ(defaults.exception_path.icmp_pps, 1000u);
  EXPECT_EQ(defaults.exception_path.other_pps, 20000u);
}

TEST(ConfigEdge, BadValuesNameTheField) {
  auto error = [](const std::string& head) {
    ConfigResult r = load_config_string(
        head + "ports:\n  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n", "t.yaml");
    return !r ? r.error().message : std::string("(loaded)");
  };
  EXPECT_NE(error("exception_path: {queue_size: 10}\n").find("exception_path.queue_size"),
            std::string::npos);
  EXPECT_NE(error("exception_path: {other_pps: 0}\n").find("exception_path.other_pps"),
            std::string::npos);
  EXPECT_NE(error("exception_path: {rate: 5}\n").find("unknown key 'rate'"), std::string::npos);
  EXPECT_NE(error("deny_clients: [198.18.9.0/33]\n").find("deny_clients[0]"), std::string::npos);
}

}  // namespace
}  // namespace fairway

namespace fairway {
namespace {

std::string syn_proxy_config(const std::string& head, const std::string& service) {
  return head + "ports:\n  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n" +
         "services:\n  - {vip: 198.18.100.1, port: 80, protocol: tcp, " + service +
         "backends: [{address: 198.18.0.10}]}\n";
}

TEST(ConfigSynProxy, ModesAndSecretLoad) {
  ConfigResult r = load_config_string(syn_proxy_config("syn_cookies: {key: 0123456789abcdef0123}\n",
                                                       "mode: nat, syn_proxy: under_pressure, "),
                                      "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->services[0].syn_proxy, SynProxyMode::under_pressure);
  EXPECT_EQ(r->syn_cookie_secret, "0123456789abcdef0123");
  r = load_config_string(syn_proxy_config("", "mode: nat, syn_proxy: always, "), "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->services[0].syn_proxy, SynProxyMode::always);
  EXPECT_TRUE(r->syn_cookie_secret.empty());  // a random key at start-up
  r = load_config_string(syn_proxy_config("", ""), "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->services[0].syn_proxy, SynProxyMode::off);
}

TEST(ConfigSynProxy, RefusedWhereItCannotWorkWithTheReason) {
  auto error = [](const std::string& head, const std::string& service) {
    ConfigResult r = load_config_string(syn_proxy_config(head, service), "t.yaml");
    return !r ? r.error().message : std::string("(loaded)");
  };
  EXPECT_EQ(error("", "syn_proxy: always, "),
            "t.yaml:4:61: services[0].syn_proxy: a SYN proxy needs mode: nat and protocol: tcp (in "
            "dsr the back-end answers the client itself, so the load balancer cannot complete a "
            "handshake for it), expected off");
  EXPECT_NE(error("workers: 2\n", "mode: nat, syn_proxy: always, ").find("needs workers: 1"),
            std::string::npos);
  EXPECT_NE(error("", "mode: nat, syn_proxy: sometimes, ").find("services[0].syn_proxy"),
            std::string::npos);
  EXPECT_NE(error("syn_cookies: {key: short}\n", "").find("syn_cookies.key: the key has 5 bytes"),
            std::string::npos);
  EXPECT_NE(error("syn_cookies: {key_file: /nonexistent/key}\n", "")
                .find("syn_cookies.key_file: cannot read '/nonexistent/key'"),
            std::string::npos);
  EXPECT_NE(error("syn_cookies: {}\n", "").find("syn_cookies.key_file: missing"),
            std::string::npos);
}

}  // namespace
}  // namespace fairway

namespace fairway {
namespace {

TEST(ConfigAgentKeys, KeysPerBackEndLoadAndTheSharedKeyBecomesOptional) {
  const std::string ports =
      "ports:\n  - {name: client, device: dev0, addresses: [198.18.0.1/24]}\n";
  ConfigResult r = load_config_string(
      "load_feedback:\n"
      "  agents:\n"
      "    - {address: 198.18.1.11, key: eleven-eleven-eleven-eleven-1111}\n"
      "    - {address: '2001:2::12', key: twelve-twelve-twelve-twelve-1212}\n" +
          ports,
      "t.yaml");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->load_feedback.enabled());
  EXPECT_TRUE(r->load_feedback.key.empty());
  ASSERT_EQ(r->load_feedback.agent_keys.size(), 2u);
  const std::string* own = r->load_feedback.own_key(*IpAddress::parse("2001:2::12"));
  ASSERT_NE(own, nullptr);
  EXPECT_EQ(*own, "twelve-twelve-twelve-twelve-1212");
  EXPECT_EQ(r->load_feedback.own_key(*IpAddress::parse("198.18.1.12")), nullptr);

  auto error = [&](const std::string& section) {
    ConfigResult bad = load_config_string(section + ports, "t.yaml");
    return !bad ? bad.error().message : std::string("(loaded)");
  };
  EXPECT_NE(
      error("load_feedback:\n  agents:\n    - {address: 198.18.1.11, key: a-key-of-16-bytes!}\n"
            "    - {address: 198.18.1.11, key: another-key-16-bytes}\n")
          .find("t.yaml:4:17: load_feedback.agents[1].address: a second key for 198.18.1.11"),
      std::string::npos);
  EXPECT_NE(error("load_feedback:\n  agents:\n    - {address: 198.18.1.11, key: short}\n")
                .find("load_feedback.agents[0].key: the key has 5 bytes"),
            std::string::npos);
  EXPECT_NE(error("load_feedback:\n  agents:\n    - {address: 198.18.1.11}\n")
                .find("load_feedback.agents[0].key_file: missing"),
            std::string::npos);
  EXPECT_NE(error("load_feedback: {agents: []}\n").find("load_feedback.agents: an empty list"),
            std::string::npos);
  EXPECT_NE(error("load_feedback: {report_interval: 1s}\n").find("load_feedback.key_file: missing"),
            std::string::npos);
}

}  // namespace
}  // namespace fairway
