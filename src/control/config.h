#pragma once
// The daemon's configuration as loaded from YAML. Loading validates everything: an error names
// the file, line, column and field and says what was expected. Unknown keys are errors.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/distributor.h"
#include "lb/flow_state.h"
#include "lb/service_mode.h"
#include "packet/addresses.h"
#include "util/result.h"

namespace fairway {

// How a service picks the back-end of a new flow (docs/DISTRIBUTION.md).
enum class Scheduler : uint8_t {
  maglev,       // weighted Maglev by admin weight (and health)
  least_load,   // weighted Maglev by effective weights that follow the agents' load reports
  source_hash,  // weighted Maglev by admin weight, keyed by the client's address alone
};

// "maglev", "least-load", "source-hash": the configuration's spelling.
const char* scheduler_name(Scheduler scheduler);

// Which reported figure `least-load` balances, per unit of the back-end's capacity.
enum class LoadMetric : uint8_t { cpu, memory, clients, response_time };

// "cpu", "memory", "clients", "response_time": the configuration's spelling.
const char* load_metric_name(LoadMetric metric);

struct LeastLoadConfig {
  LoadMetric metric = LoadMetric::cpu;
  LeastLoadParams params;  // the distributor's (docs/DISTRIBUTION.md); YAML keys of the same names
  friend bool operator==(const LeastLoadConfig&, const LeastLoadConfig&) = default;
};

// A capability pool: new flows from these clients go only to these back-ends (of the service).
struct ClientPoolConfig {
  std::string name;
  std::vector<IpPrefix> clients;    // source prefixes
  std::vector<IpAddress> backends;  // back-end addresses within the service
  friend bool operator==(const ClientPoolConfig&, const ClientPoolConfig&) = default;
};

// Agents' load reports (docs/AGENT.md): authenticated with HMAC-SHA256, by a key of the back-end's
// own or else the shared key.
struct LoadFeedbackConfig {
  std::string key;       // the shared key (from key_file, or inline); may be empty
  std::string key_file;  // where it was read from, for messages
  // Back-ends with a key of their own: only that key signs reports for the address (one
  // back-end's key cannot speak for another; the shared key cannot speak for them).
  struct AgentKey {
    IpAddress address;
    std::string key;
    std::string key_file;
    friend bool operator==(const AgentKey&, const AgentKey&) = default;
  };
  std::vector<AgentKey> agent_keys;
  uint64_t report_interval_ms = 1000;   // what the agents are told to use; staleness counts in it
  uint32_t stale_after = 3;             // missed intervals before a report is stale
  uint64_t max_clock_skew_ms = 30'000;  // a report's timestamp may differ this much from ours
  bool enabled() const { return !key.empty() || !agent_keys.empty(); }
  const std::string* own_key(const IpAddress& address) const {
    for (const AgentKey& a : agent_keys) {
      if (a.address == address) return &a.key;
    }
    return nullptr;
  }
};

struct BackendConfig {
  IpAddress address;
  uint16_t port = 0;     // defaults to the service port; must equal it for dsr
  uint32_t weight = 1;   // 0..65535; 0 = no new flows
  bool drained = false;  // YAML `drain`: no new flows, existing ones go on (like weight 0)
  double capacity =
      1;  // relative capacity for least-load: the load it balances is metric / capacity
};

// An active check of every back-end of a service, run by the control thread (HealthChecker).
struct HealthCheckConfig {
  enum class Type : uint8_t { tcp, http };  // tcp: connect only; http: GET and check the answer
  Type type = Type::tcp;
  uint16_t port = 0;             // 0 = each back-end's own port
  std::string path = "/";        // http only; starts with '/'
  std::string host;              // http only; empty = the back-end's address (and port)
  uint16_t expect_status = 200;  // http only, 100..599
  std::string expect_body;       // http only; empty = any body
  uint32_t interval_ms = 2000;   // between check starts, 100 ms..1 h
  uint32_t timeout_ms = 1000;    // whole check (connect + response), <= interval_ms
  uint32_t rise = 2;             // successes in a row to become up, 1..100
  uint32_t fall = 3;             // failures in a row to become down, 1..100
  friend bool operator==(const HealthCheckConfig&, const HealthCheckConfig&) = default;
};

// The exception path (frames for the kernel): bounded queues per class, served in priority order.
struct ExceptionPathConfig {
  uint32_t queue_size = 1024;   // frames per (worker, port, class) queue, 64..65536
  uint32_t icmp_pps = 1'000;    // the icmp class's rate into the kernel, per port, 10..10M
  uint32_t other_pps = 20'000;  // the lowest class's rate into the kernel, per port, 100..10M
  friend bool operator==(const ExceptionPathConfig&, const ExceptionPathConfig&) = default;
};

struct ServiceConfig {
  std::string name;  // unique; defaults to "vip:port/proto"
  IpAddress vip;
  uint16_t port = 0;
  uint8_t protocol = 0;  // kProtoTcp or kProtoUdp
  ForwardingMode mode = ForwardingMode::dsr;
  MissingFlowPolicy missing_flow = MissingFlowPolicy::consistent;
  uint32_t table_size = 65537;                    // Maglev M, prime
  std::vector<BackendConfig> backends;            // at least one
  std::optional<HealthCheckConfig> health_check;  // absent: back-ends are always considered up
  BackendDownPolicy on_backend_down = BackendDownPolicy::keep;
  Scheduler scheduler = Scheduler::maglev;
  LeastLoadConfig least_load;
  std::vector<ClientPoolConfig> pools;
  std::vector<IpPrefix> deny_clients;  // packets from these sources to the service are dropped
  SynProxyMode syn_proxy = SynProxyMode::off;  // nat TCP services with one worker only
  int line = 0;                                // where it was declared, for later error messages
};

struct PortConfig {
  std::string name;  // unique, e.g. "client"
  // DPDK device arguments ("net_af_xdp0,iface=veth0" or a PCI address): either one device with
  // a queue per worker, or one single-queue device per worker (AF_XDP on veth: one per queue).
  std::vector<std::string> devices;
  std::vector<IpPrefix> addresses;  // the box's own addresses on this port (go to the kernel)
  std::optional<MacAddress> mac;    // override; default: the device's MAC
  bool exception_path = true;       // create a TAP interface for the kernel
  std::string tap_name;             // default "fw-<name>"
  friend bool operator==(const PortConfig&, const PortConfig&) = default;
};

struct NeighborConfig {  // static neighbor: never expires, wins over the kernel's
  IpAddress address;
  MacAddress mac;
  std::string port;
};

struct RouteConfig {  // static route in addition to the kernel's
  IpPrefix prefix;
  std::optional<IpAddress> via;  // absent: on-link
  std::string port;
};

struct EalConfig {
  std::vector<std::string> args;  // extra EAL arguments, e.g. --no-huge, --file-prefix
  std::string lcores;             // EAL --lcores value; default: main + workers on CPUs 0..N
  friend bool operator==(const EalConfig&, const EalConfig&) = default;
};

// Announcing the VIPs by BGP through BIRD (docs/SCALE-OUT.md): fairwayd writes the static
// protocols `fairway_vips4` and `fairway_vips6` with one route per announced VIP into
// `bird_file`, which the operator's bird.conf includes, and runs `birdc -s bird_socket configure`.
struct AnnounceConfig {
  std::string bird_file;  // empty: no announcement
  std::string bird_socket = "/run/bird/bird.ctl";
  std::string birdc = "birdc";
  bool enabled() const { return !bird_file.empty(); }
  friend bool operator==(const AnnounceConfig&, const AnnounceConfig&) = default;
};

// Flow state shared between the nodes of a cluster (docs/SCALE-OUT.md): each node sends the
// flows it makes to its peers over UDP, authenticated with the shared key, and adopts theirs.
struct FlowSyncConfig {
  IpAddress listen_address;  // one of this node's port addresses
  uint16_t listen_port = 0;  // 0: no flow sync
  struct Peer {
    IpAddress address;
    uint16_t port = 0;
    friend bool operator==(const Peer&, const Peer&) = default;
  };
  std::vector<Peer> peers;
  std::string key;
  std::string key_file;
  uint32_t max_records_per_second = 50'000;  // sent, over all peers' copies
  bool enabled() const { return listen_port != 0; }
  friend bool operator==(const FlowSyncConfig&, const FlowSyncConfig&) = default;
};

// How a worker waits for packets. `busy` polls forever (a core at 100 %, the lowest latency);
// `adaptive` polls while there is traffic and, after `idle_ms` without a packet, sleeps until one
// of its RX queues has packets (or the control core needs it).
struct WorkerPolling {
  bool adaptive = false;
  uint32_t idle_ms = 10;
  friend bool operator==(const WorkerPolling&, const WorkerPolling&) = default;
};

// Fragmented datagrams to a service (and a nat back-end's fragmented replies) are reassembled
// per worker with DPDK's rte_ip_frag, decided as one datagram, and fragmented again for the
// egress port (docs/FRAGMENTS.md). Bounded per worker: datagrams being reassembled at once,
// fragments held at once (the mbuf pool grows by workers x max_fragments for them), and how long
// an incomplete datagram waits. max_datagrams 0: fragments to a service are dropped.
struct FragmentConfig {
  uint32_t max_datagrams = 1024;
  uint32_t max_fragments = 4096;
  uint32_t timeout_ms = 1000;
  bool enabled() const { return max_datagrams != 0; }
  friend bool operator==(const FragmentConfig&, const FragmentConfig&) = default;
};

struct Config {
  std::string source_path;
  EalConfig eal;
  uint32_t workers = 1;  // switching processors, 1..64
  WorkerPolling polling;
  AnnounceConfig announce;
  FlowSyncConfig flow_sync;
  uint32_t mbufs = 16383;            // mempool size
  uint32_t flow_capacity = 1 << 20;  // per worker
  FlowTimeouts timeouts;
  FragmentConfig fragments;
  bool answer_echo = true;            // ICMP echo to a VIP is answered
  bool udp_port_unreachable = false;  // unserved UDP: ICMP port unreachable instead of silent drop
  std::string control_listen = "127.0.0.1:9180";  // control API "HOST:PORT"; empty: no API
  std::string control_token;       // when set, API changes need "Authorization: Bearer <token>"
  std::string control_token_file;  // where control_token was read from (empty: inline or none)
  // Where the API's changes and the node's drain are kept across restarts (empty: nowhere; a
  // reload keeps them either way). See control/runtime_state.h.
  std::string state_file;
  std::vector<PortConfig> ports;
  std::vector<NeighborConfig> neighbors;
  std::vector<RouteConfig> routes;
  std::vector<ServiceConfig> services;
  LoadFeedbackConfig load_feedback;
  ExceptionPathConfig exception_path;
  std::vector<IpPrefix> deny_clients;  // to every service
  // syn_cookies: the secret the SYN proxy's cookie key is derived from (nodes that share it accept
  // each other's cookies); empty: a random key made at start-up and kept across reloads.
  std::string syn_cookie_secret;
  std::string syn_cookie_key_file;
};

// Loads and validates. Never throws. The error's message reads
// "FILE:LINE:COL: FIELD: what was wrong, what was expected".
using ConfigResult = Result<Config>;
ConfigResult load_config_file(const std::string& path);
ConfigResult load_config_string(const std::string& yaml_text, const std::string& source_name);

}  // namespace fairway
