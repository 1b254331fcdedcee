#include "pipeline/pipeline.h"

#include <algorithm>
#include <cstring>

#include "lb/flow_key.h"
#include "packet/parse.h"
#include "packet/reply.h"
#include "packet/rewrite.h"

namespace fairway {
namespace {

// Everything the stages know about the frame in hand.
struct Packet {
  std::span<uint8_t> buffer;  // writable room
  uint16_t length = 0;
  uint16_t in_port = 0;
  DropReason parse_result = DropReason::none;
  AddressRole dst_role;
  ParsedPacket parsed;
  // Set by prepare() for TCP/UDP to a served (VIP, port, protocol); key, hash and place only
  // when the packet is not a fragment (a fragment to a service is dropped).
  const Service* service = nullptr;
  FlowKey key;
  uint64_t hash = 0;
  FlowTable::Place place{};  // ctx.flows.place(hash), computed once for prefetch, lookup and insert
  FlowTable::Candidate candidate;  // from prefetch_entry (process_burst), for lookup
  std::span<uint8_t> frame() const { return buffer.first(length); }
};

// Steps between a packet's header prefetch and its entry prefetch, and between that and its
// decision (process_burst).
constexpr size_t kEntryLag = 8;
constexpr size_t kDecideLag = 16;

constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpv6EchoRequest = 128;

Decision drop(PipelineContext& ctx, DropReason reason) {
  ctx.counters.drop(reason);
  return {Verdict::drop, reason, kNoPort, 0};
}

Decision to_kernel(const Snapshot& snap, PipelineContext& ctx, const Packet& pkt) {
  if (pkt.in_port >= snap.ports.size() || !snap.ports[pkt.in_port].exception_path) {
    return drop(ctx, DropReason::no_exception_path);
  }
  ++ctx.counters.to_kernel;
  return {Verdict::to_kernel, DropReason::none, pkt.in_port, pkt.length,
          kernel_priority(snap, pkt.parsed)};
}

// A reply we generated goes back out of the port the packet came in on.
Decision send_reply(PipelineContext& ctx, const Packet& pkt, size_t reply_length) {
  if (reply_length == 0) return drop(ctx, DropReason::no_room_for_reply);
  return {Verdict::forward, DropReason::none, pkt.in_port, static_cast<uint16_t>(reply_length)};
}

// Resolves egress port and next-hop MAC for `destination` and rewrites the frame's MACs.
// Returns the drop reason when the snapshot has no route or no neighbor for it.
DropReason set_next_hop(const Snapshot& snap, Packet& pkt, const IpAddress& destination,
                        uint16_t& egress_port) {
  const Route* route = snap.find_route(destination);
  if (route == nullptr || route->port >= snap.ports.size()) return DropReason::no_route;
  const Neighbor* neighbor = snap.find_neighbor(route->has_gateway ? route->gateway : destination);
  if (neighbor == nullptr) return DropReason::neighbor_unresolved;
  rewrite_macs(pkt.frame(), snap.ports[route->port].mac, neighbor->mac);
  egress_port = route->port;
  return DropReason::none;
}

bool is_multicast_or_link_local(const IpAddress& a) {
  if (a.is_v4()) {
    const uint8_t* v4 = a.v4_bytes();
    return (v4[0] & 0xf0) == 0xe0 || (v4[0] == 255 && v4[1] == 255 && v4[2] == 255 && v4[3] == 255);
  }
  return a.bytes[0] == 0xff || (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80);
}

bool is_broadcast_or_multicast_mac(std::span<const uint8_t> frame) {
  return frame[0] & 0x01;
}

bool addressed_to_port(const Snapshot& snap, const Packet& pkt) {
  if (pkt.in_port >= snap.ports.size()) return false;
  const MacAddress& mine = snap.ports[pkt.in_port].mac;
  return std::memcmp(mine.bytes.data(), pkt.buffer.data(), mine.bytes.size()) == 0;  // inlined
}

// Sends a service packet to its back-end: dsr rewrites MACs only, nat the destination too.
// Inlined into the hit path on purpose: a call there costs ~70 instructions per packet (measured).
[[gnu::always_inline]] inline Decision forward_to_backend(const Snapshot& snap,
                                                          PipelineContext& ctx, Packet& pkt,
                                                          const Service& service,
                                                          const IpAddress& backend,
                                                          uint16_t backend_port) {
  if (service.mode == ForwardingMode::nat) {
    nat_rewrite_destination(pkt.frame(), pkt.parsed, backend, backend_port);
  }
  uint16_t egress = kNoPort;
  if (const NextHop* next_hop = snap.backend_next_hops.find(backend)) {
    egress = next_hop->port;
    rewrite_macs(pkt.frame(), snap.ports[egress].mac, next_hop->mac);
  } else if (DropReason reason = set_next_hop(snap, pkt, backend, egress);
             reason != DropReason::none) {
    return drop(ctx, reason);  // a back-end no longer in the snapshot, or unresolved
  }
  if (service.mode == ForwardingMode::nat) {
    ++ctx.counters.nat_forwarded;
  } else {
    ++ctx.counters.dsr_forwarded;
  }
  return {Verdict::forward, DropReason::none, egress, pkt.length};
}

Decision tcp_reset(PipelineContext& ctx, Packet& pkt) {
  if (pkt.parsed.tcp_flags & kTcpRst) return drop(ctx, DropReason::reset_not_answered);
  ++ctx.counters.resets_sent;
  return send_reply(ctx, pkt, build_tcp_reset(pkt.buffer, pkt.length, pkt.parsed));
}

// TCP or UDP to a VIP port no service serves (or to a service that takes no new flows).
Decision handle_unserved(const Snapshot& snap, PipelineContext& ctx, Packet& pkt) {
  const ParsedPacket& p = pkt.parsed;
  if (p.l4_protocol == kProtoTcp) return tcp_reset(ctx, pkt);
  if (!snap.udp_port_unreachable) return drop(ctx, DropReason::unserved_udp);
  ++ctx.counters.port_unreachables;
  return send_reply(ctx, pkt, build_icmp_port_unreachable(pkt.buffer, pkt.length, p));
}

// The service's entry for the flow's back-end, or nullptr when it is no longer in the service.
const Backend* backend_of(const Service& service, const FlowValue& flow) {
  for (const Backend& b : service.backends) {
    if (b.port == flow.backend_port && b.address == flow.backend) return &b;
  }
  return nullptr;
}

// Whether the flow's back-end is one the service marks down; a back-end no longer in the
// service is not (its flows keep going, as for any snapshot change).
bool backend_down(const Service& service, const FlowValue& flow) {
  const Backend* b = backend_of(service, flow);
  return b != nullptr && !b->up;
}

// Whether a packet that misses the flow table may open a flow: UDP, or a TCP SYN alone.
bool opens_flow(const ParsedPacket& p) {
  return p.l4_protocol == kProtoUdp || (p.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpSyn;
}

// Whether the service still sends new flows to the flow's back-end: present and with an
// effective weight (the snapshot builder gives 0 to back-ends down, drained or removed).
bool takes_new_flows(const Service& service, const FlowValue& flow) {
  const Backend* b = backend_of(service, flow);
  return b != nullptr && b->effective_weight != 0;
}

// The reuse rules (docs/ARCHITECTURE.md): a SYN without ACK that finds a live entry starts a new
// connection unless it repeats a handshake in progress to a back-end that still takes new flows.
// Clients reuse ports within seconds (the server closed first, CGNAT), while the old entry lingers
// in `closing`; its back-end may since have been drained, weighted 0, marked down or removed.
bool syn_starts_over(const Service& service, const FlowValue& flow) {
  return flow.tcp_state != TcpFlowState::syn_seen || !takes_new_flows(service, flow);
}

// Whether a deny list (global or the service's) names the client; counts the drop.
[[gnu::noinline]] bool denied(const Snapshot& snap, PipelineContext& ctx, const Service& service,
                              const IpAddress& client) {
  if (!snap.deny_clients.contains(client) && !service.deny_clients.contains(client)) return false;
  if (ctx.service_counters != nullptr) {
    if (ServiceEvents* events = ctx.service_counters->of(service.stats_slot)) ++events->denied;
  }
  ctx.counters.drop(DropReason::denied_client);
  return true;
}

// Everything but a plain hit: a miss, a SYN (the reuse rules), a service that resets the flows
// of down back-ends. Out of line so that the hit path stays small enough to be inlined whole.
[[gnu::noinline]] Decision handle_service_slow(const Snapshot& snap, PipelineContext& ctx,
                                               Packet& pkt, const Service& service,
                                               FlowValue* flow) {
  const ParsedPacket& p = pkt.parsed;
  ServiceEvents* events =
      ctx.service_counters != nullptr ? ctx.service_counters->of(service.stats_slot) : nullptr;
  const FlowKey& key = pkt.key;
  const uint64_t hash = pkt.hash;
  const bool bare_syn = p.l4_protocol == kProtoTcp && opens_flow(p);
  if (bare_syn && events != nullptr) ++events->syns;
  // Only while the service resets flows and some back-end is down: its flows end here, TCP with
  // a reset to the client, UDP (and a TCP SYN reusing the 5-tuple) by going to a back-end that
  // is up like a new flow.
  if (service.resets_flows && flow != nullptr && backend_down(service, *flow)) {
    ctx.flows.erase(key, hash);
    ++ctx.counters.flows_reset_backend_down;
    if (!opens_flow(p)) return tcp_reset(ctx, pkt);
    flow = nullptr;
  }
  if (flow != nullptr && bare_syn && syn_starts_over(service, *flow)) {
    ctx.flows.erase(key, hash);
    ++ctx.counters.flows_reused;
    flow = nullptr;
  }
  if (flow == nullptr) {
    if (!service.accepting) return handle_unserved(snap, ctx, pkt);
    if (!opens_flow(p)) {
      if (service.missing_flow == MissingFlowPolicy::strict) {
        ++ctx.counters.drops[static_cast<size_t>(DropReason::strict_no_flow)];
        return tcp_reset(ctx, pkt);
      }
      ++ctx.counters.flows_consistent;
    }
    const Backend* backend = schedule(service, hash, key.src);
    if (backend == nullptr) return drop(ctx, DropReason::service_without_backends);
    if (ctx.backend_counters != nullptr) ctx.backend_counters->count_new_flow(backend->stats_slot);
    FlowValue value{backend->address, backend->port, TcpFlowState::none, 0, 0};
    FlowEviction evicted = FlowEviction::none;
    flow = ctx.flows.insert(key, pkt.place, value, ctx.now_ms, &evicted);
    if (flow == nullptr) [[unlikely]] {
      // Both buckets hold established flows only: no entry, but the scheduler's choice, which is
      // what an entry would say while the back-end set does not change.
      ++ctx.counters.flows_untracked;
      if (events != nullptr) ++events->flows_untracked;
      return forward_to_backend(snap, ctx, pkt, service, backend->address, backend->port);
    }
    ++ctx.counters.flows_created;
    if (evicted != FlowEviction::none) [[unlikely]] {
      ++(evicted == FlowEviction::half_open ? ctx.counters.flows_evicted_half_open
                                            : ctx.counters.flows_evicted_closing);
    }
  }
  ctx.flows.observe(*flow, p.l4_protocol, p.tcp_flags, ctx.now_ms, snap.timeouts);
  return forward_to_backend(snap, ctx, pkt, service, flow->backend, flow->backend_port);
}

// A TCP or UDP packet for (VIP, port, protocol) that a service serves. The common case, a packet
// of a flow in the table that is not a SYN, is decided here; the rest in handle_service_slow.
Decision handle_service(const Snapshot& snap, PipelineContext& ctx, Packet& pkt,
                        const Service& service) {
  const ParsedPacket& p = pkt.parsed;
  if (service.screens_clients) [[unlikely]] {
    if (denied(snap, ctx, service, p.src)) {
      return {Verdict::drop, DropReason::denied_client, kNoPort, 0};
    }
  }
  if (p.is_fragment) return drop(ctx, DropReason::fragment_to_service);
  FlowValue* flow = ctx.flows.lookup(pkt.key, pkt.place, pkt.candidate, ctx.now_ms);
  const bool syn = p.l4_protocol == kProtoTcp && (p.tcp_flags & kTcpSyn);
  if (flow == nullptr || syn || service.resets_flows) [[unlikely]] {
    return handle_service_slow(snap, ctx, pkt, service, flow);
  }
  ctx.flows.observe(*flow, p.l4_protocol, p.tcp_flags, ctx.now_ms, snap.timeouts);
  return forward_to_backend(snap, ctx, pkt, service, flow->backend, flow->backend_port);
}

// An ICMP error sent to a VIP quotes a packet that a back-end sent from the VIP: deliver it to
// the back-end that owns the flow, so that path-MTU discovery works.
Decision handle_icmp_error(const Snapshot& snap, PipelineContext& ctx, Packet& pkt) {
  QuotedPacket quote;
  DropReason reason = parse_icmp_quote(pkt.frame(), pkt.parsed, quote);
  if (reason != DropReason::none) return drop(ctx, reason);
  const Service* service = snap.find_service(quote.src, quote.src_port, quote.l4_protocol);
  if (service == nullptr) return drop(ctx, DropReason::icmp_error_no_flow);
  FlowKey key{quote.dst, quote.src, quote.dst_port, quote.src_port, quote.l4_protocol};
  uint64_t hash = flow_hash(key);
  const FlowValue* flow = ctx.flows.lookup(key, hash, ctx.now_ms);
  IpAddress backend_address;
  uint16_t backend_port = 0;
  if (flow != nullptr) {
    backend_address = flow->backend;
    backend_port = flow->backend_port;
  } else if (const Backend* backend = schedule(*service, hash, quote.dst)) {
    backend_address = backend->address;  // the flow lives on another worker or node
    backend_port = backend->port;
  } else {
    return drop(ctx, DropReason::icmp_error_no_flow);
  }
  if (service->mode == ForwardingMode::nat) {
    nat_rewrite_icmp_error(pkt.frame(), pkt.parsed, quote, backend_address, backend_port);
  }
  uint16_t egress = kNoPort;
  reason = set_next_hop(snap, pkt, backend_address, egress);
  if (reason != DropReason::none) return drop(ctx, reason);
  ++ctx.counters.icmp_errors_to_backend;
  return {Verdict::forward, DropReason::none, egress, pkt.length};
}

Decision handle_vip(const Snapshot& snap, PipelineContext& ctx, Packet& pkt) {
  const ParsedPacket& p = pkt.parsed;
  if (p.l4_protocol == kProtoTcp || p.l4_protocol == kProtoUdp) {
    if (p.is_later_fragment) return drop(ctx, DropReason::fragment_to_service);
    if (pkt.service != nullptr) return handle_service(snap, ctx, pkt, *pkt.service);
    return handle_unserved(snap, ctx, pkt);
  }
  bool is_icmp = p.l4_protocol == kProtoIcmp || p.l4_protocol == kProtoIcmpv6;
  if (is_icmp && !p.is_fragment) {
    uint8_t echo = p.l4_protocol == kProtoIcmp ? kIcmpEchoRequest : kIcmpv6EchoRequest;
    if (p.icmp_type == echo) {
      if (!snap.answer_echo) return drop(ctx, DropReason::echo_disabled);
      ++ctx.counters.echo_replies;
      return send_reply(ctx, pkt, build_icmp_echo_reply(pkt.buffer, pkt.length, p));
    }
    if (is_icmp_error(p)) return handle_icmp_error(snap, ctx, pkt);
  }
  return drop(ctx, DropReason::unserved_protocol);
}

// Router behaviour for everything that is neither ours nor a VIP: the kernel answers what we
// cannot (TTL expiring, neighbor to resolve) through the exception path. What has no route is
// dropped here: under a spoofed flood the back-ends' answers to made-up addresses come back
// through us, and handing each to the kernel would cost a system call apiece for nothing.
Decision handle_transit(const Snapshot& snap, PipelineContext& ctx, Packet& pkt) {
  if (pkt.parsed.hop_limit <= 1) return to_kernel(snap, ctx, pkt);
  const Route* route = snap.find_route(pkt.parsed.dst);
  if (route == nullptr || route->port >= snap.ports.size()) return drop(ctx, DropReason::no_route);
  const Neighbor* neighbor =
      snap.find_neighbor(route->has_gateway ? route->gateway : pkt.parsed.dst);
  if (neighbor == nullptr) return to_kernel(snap, ctx, pkt);
  if (!decrement_hop_limit(pkt.frame(), pkt.parsed)) return to_kernel(snap, ctx, pkt);
  rewrite_macs(pkt.frame(), snap.ports[route->port].mac, neighbor->mac);
  ++ctx.counters.transit_forwarded;
  return {Verdict::forward, DropReason::none, route->port, pkt.length};
}

// A nat back-end's reply: from back-end:port, it must look as if it came from VIP:port.
Decision reverse_nat(const Snapshot& snap, PipelineContext& ctx, Packet& pkt,
                     const Service& service) {
  nat_rewrite_source(pkt.frame(), pkt.parsed, service.vip, service.port);
  ++ctx.counters.nat_reversed;
  return handle_transit(snap, ctx, pkt);
}

const Service* nat_service_of_source(const Snapshot& snap, const ParsedPacket& p) {
  if (snap.nat_service_by_backend.empty() || p.is_later_fragment) return nullptr;
  if (p.l4_protocol != kProtoTcp && p.l4_protocol != kProtoUdp) return nullptr;
  const uint32_t* id = snap.nat_service_by_backend.find(Endpoint{p.src, p.src_port, p.l4_protocol});
  return id == nullptr ? nullptr : &snap.services[*id];
}

// Stage one: parse, classify the destination and start the flow-table lookup, so that a burst's
// lookups overlap their cache misses instead of paying them one after another.
// Sets every field decide() reads: a burst's Packets are reused from one burst to the next.
void prepare(const Snapshot& snap, PipelineContext& ctx, Packet& pkt) {
  pkt.service = nullptr;
  pkt.hash = 0;
  pkt.parse_result = parse_frame(pkt.frame(), pkt.parsed);
  const ParsedPacket& p = pkt.parsed;
  if (pkt.parse_result != DropReason::none || (p.l3 != L3Kind::ipv4 && p.l3 != L3Kind::ipv6)) {
    return;
  }
  // The service first: for the packets that matter most, it is the destination's role too.
  const bool balanced = p.l4_protocol == kProtoTcp || p.l4_protocol == kProtoUdp;
  if (balanced && !p.is_later_fragment) {
    pkt.service = snap.find_service(p.dst, p.dst_port, p.l4_protocol);
  }
  if (pkt.service == nullptr) {
    pkt.dst_role = snap.role_of(p.dst);
    return;
  }
  pkt.dst_role = AddressRole{pkt.service->vip_is_local, true};
  if (p.is_fragment) return;
  pkt.key = FlowKey{p.src, p.dst, p.src_port, p.dst_port, p.l4_protocol};
  pkt.hash = flow_hash(pkt.key);
  pkt.place = ctx.flows.place(pkt.hash);
  ctx.flows.prefetch(pkt.place);
}

// Stage two: the decision.
Decision decide(const Snapshot& snap, PipelineContext& ctx, Packet& pkt) {
  if (pkt.parse_result != DropReason::none) return drop(ctx, pkt.parse_result);
  const ParsedPacket& p = pkt.parsed;
  if (is_broadcast_or_multicast_mac(pkt.frame())) return to_kernel(snap, ctx, pkt);
  if (!addressed_to_port(snap, pkt)) return drop(ctx, DropReason::not_for_us);
  if (p.l3 != L3Kind::ipv4 && p.l3 != L3Kind::ipv6) return to_kernel(snap, ctx, pkt);
  if (pkt.dst_role.local || is_multicast_or_link_local(p.dst)) return to_kernel(snap, ctx, pkt);
  if (pkt.dst_role.vip) return handle_vip(snap, ctx, pkt);
  if (const Service* service = nat_service_of_source(snap, p)) {
    return reverse_nat(snap, ctx, pkt, *service);
  }
  return handle_transit(snap, ctx, pkt);
}

}  // namespace

const Backend* schedule(const Service& service, uint64_t hash, const IpAddress& client) {
  const std::vector<uint16_t>* table = &service.maglev;
  for (const ClientPool& pool : service.pools) {
    for (const IpPrefix& prefix : pool.clients) {
      if (prefix.contains(client)) {
        table = &pool.maglev;
        goto chosen;
      }
    }
  }
chosen:
  if (table->empty()) return nullptr;
  if (service.by_source) [[unlikely]]
    hash = source_hash(client);
  uint16_t index = (*table)[hash % table->size()];
  return index == kNoBackend ? nullptr : &service.backends[index];
}

Decision process_frame(const Snapshot& snap, PipelineContext& ctx, uint16_t in_port,
                       std::span<uint8_t> buffer, uint16_t length) {
  Packet pkt;
  pkt.buffer = buffer;
  pkt.length = length;
  pkt.in_port = in_port;
  prepare(snap, ctx, pkt);
  return decide(snap, ctx, pkt);
}

void process_burst(const Snapshot& snap, PipelineContext& ctx, uint16_t in_port,
                   std::span<const FrameRef> frames, Decision* decisions) {
  // Kept from burst to burst (one set per worker thread) rather than built afresh: value-
  // initialising 32 of them cost a 5 KB memset per burst, and prepare() sets what decide() reads.
  // constinit: initialised at load time, so no thread-local guard runs per call.
  static constinit thread_local Packet packets[kMaxBurst];
  const size_t count = std::min(frames.size(), kMaxBurst);
  // A rolling pipeline rather than three passes over the burst: packet i is prepared (bucket
  // headers prefetched), packet i - kEntryLag has its entry prefetched and packet i - kDecideLag
  // is decided in the same step, so each memory access has several packets' work to hide behind
  // and the misses are spread over the burst instead of issued all at once.
  for (size_t i = 0; i < count + kDecideLag; ++i) {
    if (i < count) {
      packets[i].buffer = frames[i].buffer;
      packets[i].length = frames[i].length;
      packets[i].in_port = in_port;
      prepare(snap, ctx, packets[i]);
    }
    if (i >= kEntryLag && i - kEntryLag < count) {
      Packet& pkt = packets[i - kEntryLag];
      pkt.candidate = pkt.hash != 0 ? ctx.flows.prefetch_entry(pkt.place) : FlowTable::Candidate{};
    }
    if (i >= kDecideLag) decisions[i - kDecideLag] = decide(snap, ctx, packets[i - kDecideLag]);
  }
}

}  // namespace fairway
