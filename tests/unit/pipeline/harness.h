#pragma once
// A hand-built snapshot and a one-worker harness for the pipeline's unit tests: two ports
// (client 0, server 1), back-ends 198.18.1.11.. on the server port, one service at
// 198.18.100.1:80 (TCP, or UDP with `protocol`).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../packet/frame_builder.h"
#include "lb/maglev.h"
#include "pipeline/pipeline.h"

namespace fairway::test {

inline const MacAddress kClientPortMac{{2, 0, 0, 0, 0, 1}};
inline const MacAddress kServerPortMac{{2, 0, 0, 0, 1, 1}};
inline const MacAddress kClientMac{{2, 0, 0, 0, 0, 2}};

inline MacAddress backend_mac(int i) {
  return MacAddress{{2, 0, 0, 0, 1, static_cast<uint8_t>(10 + i)}};
}

// Back-end i (0-based) is 198.18.1.(11 + i), stats slot 100 + i. Maglev from `weights`.
inline std::unique_ptr<Snapshot> make_snapshot(
    std::vector<uint32_t> weights, ForwardingMode mode, uint64_t version = 1,
    MissingFlowPolicy policy = MissingFlowPolicy::consistent, uint8_t protocol = kProtoTcp) {
  auto snap = std::make_unique<Snapshot>();
  snap->version = version;
  snap->ports = {{"client", kClientPortMac, false}, {"server", kServerPortMac, false}};
  Service s;
  s.name = "web";
  s.vip = ip("198.18.100.1");
  s.port = 80;
  s.protocol = protocol;
  s.mode = mode;
  s.missing_flow = policy;
  std::vector<std::string> keys;
  for (size_t i = 0; i < weights.size(); ++i) {
    IpAddress a = ip("198.18.1." + std::to_string(11 + i));
    Backend b{a, static_cast<uint16_t>(mode == ForwardingMode::nat ? 8080 : 80), weights[i]};
    b.stats_slot = static_cast<uint32_t>(100 + i);
    b.effective_weight = weights[i];  // as the snapshot builder computes it (maglev, all up)
    s.backends.push_back(b);
    keys.push_back(a.to_string());
    snap->neighbors[a] = Neighbor{backend_mac(static_cast<int>(i) + 1), 1};
  }
  std::vector<MaglevBackend> input;
  for (size_t i = 0; i < keys.size(); ++i) input.push_back({keys[i], weights[i]});
  s.maglev = build_maglev_table(input, 65537);
  snap->services.push_back(s);
  snap->service_by_endpoint[Endpoint{s.vip, 80, protocol}] = 0;
  snap->address_roles[s.vip].vip = true;
  // As the snapshot builder resolves them: each back-end's next hop with its counter slot.
  for (size_t i = 0; i < s.backends.size(); ++i) {
    const Backend& b = s.backends[i];
    snap->address_roles[b.address].backend = true;
    snap->backend_next_hops[ServiceBackend{b.address, b.port, 0}] =
        NextHop{1, backend_mac(static_cast<int>(i) + 1), b.stats_slot};
    if (mode == ForwardingMode::nat) {
      snap->nat_service_by_backend[Endpoint{b.address, b.port, protocol}] =
          NatSource{0, b.stats_slot};
    }
  }
  snap->routes = {{*IpPrefix::parse("198.18.1.0/24"), 1, false, {}},
                  {*IpPrefix::parse("198.18.0.0/24"), 0, false, {}}};
  snap->neighbors[ip("198.18.0.2")] = Neighbor{kClientMac, 0};
  return snap;
}

inline FrameSpec client_segment(uint16_t src_port, uint8_t flags) {
  FrameSpec s;
  s.src_mac = kClientMac.bytes;
  s.dst_mac = kClientPortMac.bytes;
  s.src = "198.18.0.2";
  s.dst = "198.18.100.1";
  s.src_port = src_port;
  s.dst_port = 80;
  s.tcp_flags = flags;
  s.ack = (flags & kTcpAck) ? 1 : 0;
  return s;
}

// A nat back-end's (1-based) TCP segment back to the client's `client_port`, from port 8080.
inline FrameSpec backend_segment(int backend, uint16_t client_port, uint8_t flags) {
  FrameSpec s;
  s.src_mac = backend_mac(backend).bytes;
  s.dst_mac = kServerPortMac.bytes;
  s.src = "198.18.1." + std::to_string(10 + backend);
  s.dst = "198.18.0.2";
  s.src_port = 8080;
  s.dst_port = client_port;
  s.tcp_flags = flags;
  return s;
}

inline FrameSpec client_datagram(uint16_t src_port) {
  FrameSpec s = client_segment(src_port, 0);
  s.protocol = kProtoUdp;
  s.payload = {1, 2, 3, 4};
  return s;
}

struct Harness {
  FlowTable flows{1024};
  WorkerCounters counters;
  BackendCounters backend_counters;
  PipelineContext ctx{flows, counters, 1000, &backend_counters};
  Bytes last_output;

  Decision run(const Snapshot& snap, const FrameSpec& spec, uint16_t in_port = 0) {
    Bytes frame = build_frame(spec);
    uint16_t length = static_cast<uint16_t>(frame.size());
    frame.resize(2048);
    Decision d = process_frame(snap, ctx, in_port, frame, length);
    last_output.assign(frame.begin(), frame.begin() + d.length);
    return d;
  }
  // Which back-end (1-based) a forwarded frame went to, by its destination MAC.
  int backend_of_output() const {
    for (int i = 1; i <= 3; ++i) {
      if (std::equal(last_output.begin(), last_output.begin() + 6, backend_mac(i).bytes.begin())) {
        return i;
      }
    }
    return 0;
  }
  uint64_t drops(DropReason reason) const { return counters.drops[static_cast<size_t>(reason)]; }
};

}  // namespace fairway::test
