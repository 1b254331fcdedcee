#pragma once
// The published snapshot: everything a worker needs to switch packets, immutable once
// published (the patent's configuration table, buffers A/B: docs/DESIGN.md). The control core
// builds a new one beside the live one and swaps a pointer; workers never see a half-built table.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lb/flow_table.h"
#include "lb/maglev.h"
#include "lb/service_mode.h"
#include "lb/syn_cookie.h"
#include "packet/addresses.h"
#include "pipeline/counters.h"
#include "pipeline/flat_map.h"
#include "pipeline/prefix_set.h"

namespace fairway {

inline constexpr uint16_t kNoPort = 0xFFFF;

// Multiply-shift hashes for FlatMap (its index is the top bits): one multiply per word. IPv4
// addresses (::ffff:a.b.c.d) differ in the low word only, whose every bit reaches the top bits.
inline uint64_t hash_address_words(const IpAddress& a, uint64_t extra) {
  uint64_t hi, lo;
  std::memcpy(&hi, a.bytes.data(), 8);
  std::memcpy(&lo, a.bytes.data() + 8, 8);
  return ((hi * 0x9e3779b97f4a7c15ULL) ^ lo ^ extra) * 0xc2b2ae3d27d4eb4fULL;
}
struct IpAddressHash {
  uint64_t operator()(const IpAddress& a) const { return hash_address_words(a, 0); }
};

struct Backend {
  IpAddress address;
  uint16_t port = 0;     // host byte order
  uint32_t weight = 0;   // as configured or set through the API
  bool drained = false;  // no new flows (Maglev weight 0); existing flows keep going
  // Health: false once the health checker marks it down. It then has Maglev weight 0 and its
  // existing flows follow the service's on_backend_down.
  bool up = true;
  // Removed (API or reload) but kept, with Maglev weight 0, while it still has flows: never
  // scheduled, but its existing flows keep their next hop and reverse NAT.
  bool removed = false;
  // Index into each worker's BackendCounters, stable per (service, back-end) across snapshots.
  uint32_t stats_slot = kNoStatsSlot;
  // The weight Maglev was built with: 0 when drained, down or removed; under least-load the
  // distributor's weight (admin weight x factor x 100), else the admin weight.
  uint32_t effective_weight = 0;
};

// A capability pool: new flows from these clients go only to the pool's back-ends.
struct ClientPool {
  std::string name;
  std::vector<IpPrefix> clients;
  std::vector<uint16_t> maglev;  // like Service::maglev, over the pool's back-ends only
};

struct Service {
  uint32_t id = 0;  // index in Snapshot::services
  std::string name;
  IpAddress vip;
  uint16_t port = 0;
  uint8_t protocol = 0;
  ForwardingMode mode = ForwardingMode::dsr;
  MissingFlowPolicy missing_flow = MissingFlowPolicy::consistent;
  // What the existing flows of a back-end that goes down (!up) get.
  BackendDownPolicy on_backend_down = BackendDownPolicy::keep;
  // false: removed but kept while flows remain. Existing flows are forwarded as usual; a packet
  // that would create a flow is treated like traffic to a service that does not exist.
  bool accepting = true;
  // on_backend_down == reset and some back-end is !up, precomputed so that a flow hit pays one
  // predictable branch while nothing is down. (These flags sit next to `mode`, in what was
  // padding before `backends`.)
  bool resets_flows = false;
  // Whether the VIP is also one of the box's own addresses (then its packets are the kernel's):
  // the pipeline learns the destination's role from the service it found, without a second
  // lookup by address.
  bool vip_is_local = false;
  // scheduler: source-hash: new flows pick by the client's address alone, so every connection of
  // a client goes to the same back-end while the table stands (session affinity).
  bool by_source = false;
  // nat TCP only: when the service answers SYNs with cookies (pipeline: the SYN proxy).
  SynProxyMode syn_proxy = SynProxyMode::off;
  // Index into each worker's ServiceCounters (like Backend::stats_slot), kNoStatsSlot for none.
  uint32_t stats_slot = kNoStatsSlot;
  PrefixSet deny_clients;  // packets from these clients are dropped (denied_client)
  // Whether this list or the snapshot's global one is non-empty: the hit path tests one flag.
  bool screens_clients = false;
  std::vector<Backend> backends;
  std::vector<uint16_t> maglev;   // index into backends, kNoBackend when all weights are 0
  std::vector<ClientPool> pools;  // the first pool whose clients match picks; usually none
};

// (address, port, protocol): a VIP service or a back-end endpoint.
struct Endpoint {
  IpAddress address;
  uint16_t port = 0;
  uint8_t protocol = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};
struct EndpointHash {
  uint64_t operator()(const Endpoint& e) const {
    return hash_address_words(e.address, uint64_t{e.port} << 32 | uint64_t{e.protocol} << 48);
  }
};

struct Route {
  IpPrefix prefix;
  uint16_t port = kNoPort;  // egress data port
  bool has_gateway = false;
  IpAddress gateway;
};

struct Neighbor {
  MacAddress mac;
  uint16_t port = kNoPort;
};

// What an address is to us, so that one lookup per packet answers "ours?" and "a VIP?".
struct AddressRole {
  bool local = false;        // one of the box's own addresses: the kernel's
  bool vip = false;          // a virtual address with at least one service
  bool backend = false;      // a back-end of some service
  bool nat_backend = false;  // a back-end of some nat service (its fragments are reassembled)
};

// One back-end of one service (Service::id): what a flow's FlowValue and its service name.
struct ServiceBackend {
  IpAddress address;
  uint16_t port = 0;
  uint32_t service = 0;
  friend bool operator==(const ServiceBackend&, const ServiceBackend&) = default;
};
struct ServiceBackendHash {
  uint64_t operator()(const ServiceBackend& b) const {
    return hash_address_words(b.address, uint64_t{b.port} << 32 | b.service);
  }
};

// Egress port and next-hop MAC for a back-end, resolved when the snapshot is built, and the
// back-end's counter slot: the one lookup a forwarded packet makes.
struct NextHop {
  uint16_t port = kNoPort;
  MacAddress mac;
  uint32_t stats_slot = kNoStatsSlot;
};

// A nat back-end's endpoint: the service its replies are translated for, and its counter slot.
struct NatSource {
  uint32_t service = 0;
  uint32_t stats_slot = kNoStatsSlot;
};

struct PortInfo {
  std::string name;
  MacAddress mac;
  bool exception_path = false;
};

struct Snapshot {
  uint64_t version = 0;
  std::vector<PortInfo> ports;
  std::vector<Service> services;
  FlatMap<Endpoint, uint32_t, EndpointHash> service_by_endpoint;  // VIP:port/proto
  // nat back-end endpoint -> the service whose replies it sends (for reverse NAT)
  FlatMap<Endpoint, NatSource, EndpointHash> nat_service_by_backend;
  FlatMap<IpAddress, AddressRole, IpAddressHash> address_roles;
  std::vector<Route> routes;  // longest prefix first
  FlatMap<IpAddress, Neighbor, IpAddressHash> neighbors;
  // Every back-end whose route and neighbor resolve: the per-packet path needs one lookup.
  FlatMap<ServiceBackend, NextHop, ServiceBackendHash> backend_next_hops;
  FlowTimeouts timeouts;
  PrefixSet deny_clients;  // to every service
  // The SYN proxy's cookie key: kept by the control core across snapshots and reloads, shared by
  // the nodes configured with the same key file.
  SynCookieKey syn_cookie_key{};
  bool answer_echo = true;
  bool udp_port_unreachable = false;
  bool reassemble_fragments = false;  // fragments.max_datagrams > 0
  uint16_t control_api_port = 0;      // TCP port of the control API (0: none); its traffic to the
                                      // kernel has priority (pipeline/kernel_priority.h)

  // Inline: find_service and role_of run for every packet.
  const Service* find_service(const IpAddress& vip, uint16_t port, uint8_t protocol) const {
    const uint32_t* id = service_by_endpoint.find(Endpoint{vip, port, protocol});
    return id == nullptr ? nullptr : &services[*id];
  }
  const Route* find_route(const IpAddress& dst) const;
  const Neighbor* find_neighbor(const IpAddress& address) const { return neighbors.find(address); }
  AddressRole role_of(const IpAddress& address) const {
    const AddressRole* role = address_roles.find(address);
    return role == nullptr ? AddressRole{} : *role;
  }
  bool is_vip(const IpAddress& address) const { return role_of(address).vip; }
};

}  // namespace fairway
