#include "sim/simulator.h"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "control/snapshot_builder.h"
#include "packet/frame_writer.h"
#include "packet/parse.h"

namespace fairway::sim {
namespace {

constexpr MacAddress kClientMac{{0x02, 0x00, 0x00, 0x5a, 0x00, 0x01}};
constexpr size_t kRoom = 2048;  // an mbuf's data room

// A made-up MAC for a resolved neighbor: 02:5a and the address's last four bytes.
MacAddress made_up_mac(const IpAddress& address) {
  MacAddress mac{{0x02, 0x5a, 0, 0, 0, 0}};
  for (size_t i = 0; i < 4; ++i) mac.bytes[2 + i] = address.bytes[12 + i];
  return mac;
}

MacAddress mac_at(std::span<const uint8_t> frame, size_t offset) {
  MacAddress mac;
  std::copy(frame.begin() + offset, frame.begin() + offset + 6, mac.bytes.begin());
  return mac;
}

std::string flags_text(uint8_t flags) {
  std::string text;
  const std::pair<uint8_t, char> names[] = {
      {kTcpSyn, 'S'}, {kTcpAck, 'A'}, {kTcpFin, 'F'}, {kTcpRst, 'R'}, {kTcpPsh, 'P'}};
  for (auto [bit, letter] : names) {
    if (flags & bit) text.push_back(letter);
  }
  return text.empty() ? "." : text;
}

const char* protocol_name(uint8_t protocol) {
  switch (protocol) {
    case kProtoTcp:
      return "tcp";
    case kProtoUdp:
      return "udp";
    case kProtoIcmp:
      return "icmp";
    case kProtoIcmpv6:
      return "icmpv6";
  }
  return "ip";
}

// "tcp 198.18.0.2:40000 -> 198.18.100.1:80 [S]"
std::string packet_text(const ParsedPacket& p) {
  std::string text = protocol_name(p.l4_protocol);
  text += " ";
  if (p.l4_protocol == kProtoTcp || p.l4_protocol == kProtoUdp) {
    text += endpoint_text(p.src, p.src_port) + " -> " + endpoint_text(p.dst, p.dst_port);
  } else {
    text += p.src.to_string() + " -> " + p.dst.to_string();
  }
  if (p.l4_protocol == kProtoTcp) text += " [" + flags_text(p.tcp_flags) + "]";
  return text;
}

uint8_t parse_flags(const std::string& letters, bool& ok) {
  uint8_t flags = 0;
  ok = true;
  for (char c : letters) {
    switch (c) {
      case 'S':
        flags |= kTcpSyn;
        break;
      case 'A':
        flags |= kTcpAck;
        break;
      case 'F':
        flags |= kTcpFin;
        break;
      case 'R':
        flags |= kTcpRst;
        break;
      case 'P':
        flags |= kTcpPsh;
        break;
      default:
        ok = false;
    }
  }
  return flags;
}

}  // namespace

std::optional<FlowLine> parse_flow_line(const std::string& line, std::string& error) {
  std::istringstream words(line);
  std::string proto, src, dst, letters, extra;
  words >> proto >> src >> dst >> letters >> extra;
  FlowLine flow;
  flow.protocol = proto == "tcp" ? kProtoTcp : proto == "udp" ? kProtoUdp : 0;
  auto s = parse_endpoint_text(src);
  auto d = parse_endpoint_text(dst);
  bool flags_ok = true;
  flow.tcp_flags = letters.empty() ? kTcpSyn : parse_flags(letters, flags_ok);
  if (flow.protocol == 0 || !s || !s->port || !d || !d->port || !extra.empty() || !flags_ok ||
      (flow.protocol == kProtoUdp && !letters.empty()) ||
      s->address.is_v4() != d->address.is_v4()) {
    error = "cannot read flow '" + line +
            "' (want: tcp SRC:PORT DST:PORT [FLAGS of SAFRP] or udp SRC:PORT DST:PORT, one family)";
    return std::nullopt;
  }
  flow.src = *s;
  flow.dst = *d;
  return flow;
}

Simulator::Simulator(const Config& config, const std::vector<FlowLine>& flows,
                     const std::vector<Arrival>& frames, uint64_t wall_seconds)
    : config_(config), flows_(config.flow_capacity), ctx_{flows_, counters_} {
  std::vector<RuntimePort> ports;
  for (size_t i = 0; i < config.ports.size(); ++i) {
    const MacAddress mac = config.ports[i].mac.value_or(
        MacAddress{{0x02, 0x00, 0x5a, 0x00, 0x00, static_cast<uint8_t>(i + 1)}});
    port_macs_.push_back(mac);
    // A made-up TAP interface per port, so that the make-believe kernel's neighbors land on it.
    ports.push_back({config.ports[i].name, mac, false, static_cast<uint32_t>(i + 1)});
  }
  // Every address the run can meet: back-ends, gateways, the frames' sources and destinations.
  std::vector<IpAddress> wanted;
  for (const ServiceConfig& s : config.services) {
    for (const BackendConfig& b : s.backends) wanted.push_back(b.address);
  }
  for (const RouteConfig& r : config.routes) {
    if (r.via) wanted.push_back(*r.via);
  }
  for (const FlowLine& f : flows) {
    wanted.push_back(f.src.address);
    wanted.push_back(f.dst.address);
  }
  for (const Arrival& a : frames) {
    ParsedPacket p;
    if (parse_frame(a.frame, p) == DropReason::none &&
        (p.l3 == L3Kind::ipv4 || p.l3 == L3Kind::ipv6)) {
      wanted.push_back(p.src);
      wanted.push_back(p.dst);
    }
  }
  const auto first = build_snapshot(config, ports, {}, 1);
  KernelState kernel;
  for (const IpAddress& address : wanted) {
    const Route* route = first->find_route(address);
    if (route == nullptr || route->port >= ports.size()) continue;
    const IpAddress hop = route->has_gateway ? route->gateway : address;
    if (first->find_neighbor(hop) != nullptr) continue;
    const MacAddress mac = made_up_mac(hop);
    kernel.neighbors.push_back({hop, mac, static_cast<uint32_t>(route->port + 1)});
  }
  snapshot_ = build_snapshot(config, ports, kernel, 1);
  ctx_.now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  ctx_.wall_seconds = wall_seconds;
}

uint16_t Simulator::port_index(const std::string& name) const {
  for (size_t i = 0; i < config_.ports.size(); ++i) {
    if (config_.ports[i].name == name) return static_cast<uint16_t>(i);
  }
  return kNoPort;
}

Arrival Simulator::frame_of(const FlowLine& flow, uint16_t port) const {
  Arrival a;
  a.port = port;
  a.frame.resize(kRoom);
  const bool v6 = !flow.src.address.is_v4();
  write_ethernet(a.frame, port_macs_[port], kClientMac, v6);
  size_t length = 0;
  if (flow.protocol == kProtoTcp) {
    TcpSegmentSpec s{*flow.src.port, *flow.dst.port, 1000, (flow.tcp_flags & kTcpAck) ? 1u : 0u,
                     flow.tcp_flags, 65535,          0};
    length = write_tcp_packet(a.frame, flow.src.address, flow.dst.address, s);
  } else {
    static constexpr uint8_t kPayload[] = {'f', 'a', 'i', 'r', 'w', 'a', 'y'};
    length = write_udp_packet(a.frame, flow.src.address, flow.dst.address, *flow.src.port,
                              *flow.dst.port, kPayload);
  }
  a.frame.resize(length);
  return a;
}

std::vector<std::string> Simulator::run(const std::vector<Arrival>& arrivals) {
  std::vector<std::string> lines;
  size_t next = 0;
  while (next < arrivals.size()) {
    const uint16_t port = arrivals[next].port;
    std::vector<std::vector<uint8_t>> rooms;
    std::vector<FrameRef> refs;
    const size_t first = next;
    while (next < arrivals.size() && arrivals[next].port == port && rooms.size() < kMaxBurst) {
      rooms.push_back(arrivals[next].frame);
      rooms.back().resize(kRoom);
      ++next;
    }
    for (size_t i = 0; i < rooms.size(); ++i) {
      refs.push_back({rooms[i], static_cast<uint16_t>(arrivals[first + i].frame.size())});
    }
    Decision decisions[kMaxBurst];
    process_burst(*snapshot_, ctx_, port, refs, decisions);
    for (size_t i = 0; i < rooms.size(); ++i) {
      lines.push_back(describe(arrivals[first + i], decisions[i],
                               std::span<const uint8_t>(rooms[i]).first(decisions[i].length)));
    }
  }
  return lines;
}

std::string Simulator::describe(const Arrival& in, const Decision& d,
                                std::span<const uint8_t> out) const {
  ParsedPacket p;
  const DropReason parsed = parse_frame(in.frame, p);
  const bool ip = parsed == DropReason::none && (p.l3 == L3Kind::ipv4 || p.l3 == L3Kind::ipv6);
  std::vector<std::string> parts;
  const Service* service = ip && !p.is_later_fragment
                               ? snapshot_->find_service(p.dst, p.dst_port, p.l4_protocol)
                               : nullptr;
  std::string what;
  if (service != nullptr) {
    what = "service " + service->name + " (" +
           (service->mode == ForwardingMode::nat ? "nat" : "dsr") + ")";
  }
  ParsedPacket o;
  if (d.verdict == Verdict::forward && parse_frame(out, o) == DropReason::none) {
    if (ip && o.dst == p.src) {
      what += what.empty() ? "answered" : " answered";
    } else if (service != nullptr) {
      std::string backend = "?";
      if (service->mode == ForwardingMode::nat) {
        backend = endpoint_text(o.dst, o.dst_port);
      } else {
        // dsr: the back-end whose next hop the frame was sent to.
        const MacAddress mac = mac_at(out, 0);
        for (const Backend& b : service->backends) {
          const NextHop* hop =
              snapshot_->backend_next_hops.find(ServiceBackend{b.address, b.port, service->id});
          if (hop != nullptr && hop->mac == mac && hop->port == d.port) {
            backend = endpoint_text(b.address, b.port);
            break;
          }
        }
      }
      what += " -> back-end " + backend;
    }
    if (!what.empty()) parts.push_back(what);
    parts.push_back("forward on " + config_.ports[d.port].name + ": " + mac_at(out, 6).to_string() +
                    " > " + mac_at(out, 0).to_string() + " " + packet_text(o));
  } else {
    if (!what.empty()) parts.push_back(what);
    if (d.verdict == Verdict::to_kernel) {
      parts.push_back("to the kernel on " + config_.ports[d.port].name);
    } else if (d.verdict == Verdict::reassemble) {
      parts.push_back("held for reassembly (fairwayd decides the whole datagram)");
    } else {
      parts.push_back("dropped (" + std::string(drop_reason_name(d.reason)) + ")");
    }
  }
  std::string text = ip ? packet_text(p) : "frame of " + std::to_string(in.frame.size()) + " bytes";
  text += ": ";
  for (size_t i = 0; i < parts.size(); ++i) text += (i ? "; " : "") + parts[i];
  return text;
}

}  // namespace fairway::sim
