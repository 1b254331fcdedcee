#pragma once
// The snapshot the pipeline fuzzers decide against (pipeline_fuzz, burst_fuzz): dsr and nat
// services, IPv4 and IPv6, a SYN proxy, a deny list, static neighbors and routes, one port with an
// exception path and one without.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "control/config.h"
#include "control/snapshot_builder.h"

namespace fairway {

inline constexpr const char* kFuzzConfig = R"yaml(
workers: 1
flow_table:
  capacity: 1024
  timeouts: { tcp_syn: 10s, tcp_established: 10m, tcp_closing: 30s, udp: 1m, other: 30s }
icmp:
  echo_reply: true
  udp_port_unreachable: true
ports:
  - name: client
    device: "net_null0"
    addresses: [198.18.0.1/24, "2001:2:0:1::1/64"]
    mac: "02:00:00:00:00:01"
  - name: server
    device: "net_null1"
    addresses: [198.18.1.1/24, "2001:2:0:2::1/64"]
    mac: "02:00:00:00:01:01"
    exception_path: false
neighbors:
  - { address: 198.18.0.254, mac: "02:00:00:00:00:fe", port: client }
  - { address: 198.18.0.2, mac: "02:00:00:00:00:02", port: client }
  - { address: "2001:2:0:1::fe", mac: "02:00:00:00:00:fd", port: client }
  - { address: 198.18.1.10, mac: "02:00:00:00:01:0a", port: server }
  - { address: 198.18.1.11, mac: "02:00:00:00:01:0b", port: server }
  - { address: "2001:2:0:2::10", mac: "02:00:00:00:01:10", port: server }
  - { address: "2001:2:0:2::11", mac: "02:00:00:00:01:11", port: server }
routes:
  - { prefix: 0.0.0.0/0, via: 198.18.0.254, port: client }
  - { prefix: "::/0", via: "2001:2:0:1::fe", port: client }
  - { prefix: 198.18.50.0/24, port: server }
services:
  - name: web-dsr
    vip: 198.18.100.1
    port: 80
    protocol: tcp
    mode: dsr
    table_size: 251
    backends:
      - { address: 198.18.1.10, weight: 1 }
      - { address: 198.18.1.11, weight: 2 }
  - name: web-nat
    vip: 198.18.100.1
    port: 8080
    protocol: tcp
    mode: nat
    missing_flow: strict
    syn_proxy: under_pressure
    table_size: 251
    backends:
      - { address: 198.18.1.10, port: 8000 }
      - { address: 198.18.1.11, port: 8000 }
  - name: dns-nat
    vip: 198.18.100.2
    port: 53
    protocol: udp
    mode: nat
    table_size: 251
    backends:
      - { address: 198.18.1.10, port: 5353 }
      - { address: 198.18.1.11, port: 5353, weight: 0 }
  - name: idle
    vip: 198.18.100.3
    port: 443
    protocol: tcp
    table_size: 7
    deny_clients: [198.18.0.128/25, "2001:2::/32"]
    backends:
      - { address: 198.18.1.10, weight: 0 }
  - name: web6-dsr
    vip: "2001:2:0:100::1"
    port: 80
    protocol: tcp
    mode: dsr
    table_size: 251
    backends:
      - { address: "2001:2:0:2::10" }
      - { address: "2001:2:0:2::11" }
  - name: dns6-nat
    vip: "2001:2:0:100::2"
    port: 53
    protocol: udp
    mode: nat
    missing_flow: strict
    table_size: 251
    backends:
      - { address: "2001:2:0:2::10", port: 5353 }
  - name: web6-nat
    vip: "2001:2:0:100::1"
    port: 8080
    protocol: tcp
    mode: nat
    syn_proxy: always
    table_size: 251
    backends:
      - { address: "2001:2:0:2::11", port: 8000 }
)yaml";

inline const Config& fuzz_config() {
  static const Config config = [] {
    ConfigResult loaded = load_config_string(kFuzzConfig, "fuzz.yaml");
    if (!loaded) {
      std::fprintf(stderr, "embedded config: %s\n", loaded.error().message.c_str());
      std::abort();
    }
    return *loaded;
  }();
  return config;
}

inline std::unique_ptr<Snapshot> fuzz_snapshot() {
  std::vector<RuntimePort> ports = {
      {"client", *MacAddress::parse("02:00:00:00:00:01"), true, 0},
      {"server", *MacAddress::parse("02:00:00:00:01:01"), false, 0},
  };
  // Counter slots as fairwayd gives them, so that the fuzzed pipeline counts what the daemon's
  // does.
  RuntimeState runtime;
  uint32_t slot = 0;
  for (const ServiceConfig& s : fuzz_config().services) {
    runtime.service_stats_slots[s.name] = slot++;
    for (const BackendConfig& b : s.backends)
      runtime.stats_slots[BackendId::of(s.name, b)] = slot++;
  }
  return build_snapshot(fuzz_config(), ports, KernelState{}, 1, runtime);
}

inline size_t fuzz_flow_capacity() {
  return fuzz_config().flow_capacity;
}

}  // namespace fairway
