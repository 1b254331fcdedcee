#include "pipeline/pipeline.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "lb/flow_key.h"
#include "packet/byte_order.h"
#include "packet/parse.h"
#include "packet/reply.h"
#include "packet/rewrite.h"
#include "packet/syn_proxy.h"

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
  // when the packet is not a fragment (a fragment to a service is reassembled first).
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
constexpr uint8_t kIpv6FragmentHeader = 44;
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

// MACs and egress port toward a back-end (forward_to_backend spells it out, for its hot path).
DropReason next_hop_to_backend(const Snapshot& snap, Packet& pkt, const Service& service,
                               const FlowValue& flow, uint16_t& egress) {
  const IpAddress& backend = flow.backend;
  if (const NextHop* next_hop =
          snap.backend_next_hops.find(ServiceBackend{backend, flow.backend_port, service.id})) {
    egress = next_hop->port;
    rewrite_macs(pkt.frame(), snap.ports[egress].mac, next_hop->mac);
    return DropReason::none;
  }
  return set_next_hop(snap, pkt, backend, egress);  // a back-end no longer in the snapshot
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
  if (const NextHop* next_hop =
          snap.backend_next_hops.find(ServiceBackend{backend, backend_port, service.id})) {
    egress = next_hop->port;
    rewrite_macs(pkt.frame(), snap.ports[egress].mac, next_hop->mac);
    if (ctx.backend_counters != nullptr) {
      if (BackendTraffic* traffic = ctx.backend_counters->of(next_hop->stats_slot)) {
        ++traffic->packets_in;
        traffic->bytes_in += pkt.length;
      }
    }
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

void count_new_flow(PipelineContext& ctx, const Backend& backend) {
  if (ctx.backend_counters == nullptr) return;
  if (BackendTraffic* traffic = ctx.backend_counters->of(backend.stats_slot)) {
    ++traffic->flows_created;
  }
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

// ---- SYN proxy (docs/ARCHITECTURE.md, "SYN proxy") -------------------------------------------
// A nat TCP service may answer a client's SYN itself with a cookie and keep nothing; the client's
// ACK then proves its address, the flow is opened and the load balancer opens the back-end's side
// in the client's name (SYN, then the ACK that answers the back-end's SYN-ACK). From then on the
// two sides' sequence numbers differ by a fixed offset, added to the client's acknowledgments and
// taken from the back-end's sequence numbers.

// What the proxy advertises: an MSS a 1500-byte path carries, and a window small enough that
// little is sent before the back-end's side is open (data that arrives before is dropped and the
// client sends it again); the back-end's own window replaces it with its first segment.
constexpr uint16_t kProxyMssIpv4 = 1460;
constexpr uint16_t kProxyMssIpv6 = 1440;
constexpr uint16_t kProxyWindow = 8192;

ServiceEvents* service_events(PipelineContext& ctx, const Service& service) {
  return ctx.service_counters != nullptr ? ctx.service_counters->of(service.stats_slot) : nullptr;
}

bool syn_proxy_engaged(PipelineContext& ctx, const Service& service) {
  if (service.syn_proxy == SynProxyMode::always) return true;
  return service.syn_proxy == SynProxyMode::under_pressure &&
         ctx.syn_proxy.engaged(ctx.flows.under_pressure(ctx.now_ms), ctx.now_ms);
}

// A bare SYN: answered with a cookie, nothing kept.
Decision answer_with_cookie(const Snapshot& snap, PipelineContext& ctx, Packet& pkt,
                            const Service& service) {
  const ParsedPacket& p = pkt.parsed;
  const uint8_t mss_class = syn_cookie_mss_class(tcp_mss_option(pkt.frame(), p));
  const uint32_t cookie = make_syn_cookie(snap.syn_cookie_key, pkt.key, p.tcp_seq,
                                          syn_cookie_clock(ctx.wall_seconds), mss_class);
  const uint16_t mss = p.l3 == L3Kind::ipv4 ? kProxyMssIpv4 : kProxyMssIpv6;
  const size_t length =
      build_syn_cookie_reply(pkt.buffer, pkt.length, p, cookie, mss, kProxyWindow);
  if (length == 0) return drop(ctx, DropReason::no_room_for_reply);
  ++ctx.counters.syn_cookies_sent;
  ++ctx.syn_proxy.sent;
  if (ServiceEvents* events = service_events(ctx, service)) ++events->cookies_sent;
  return send_reply(ctx, pkt, length);
}

uint16_t proxied_mss(const FlowValue& flow) {
  return kSynCookieMss[(flow.flags & kFlowMssMask) >> kFlowMssShift];
}

// The SYN that opens (or, repeated on every client segment until the back-end answers, retries)
// the back-end's side of a proxied flow, written over the client's segment.
Decision send_backend_syn(const Snapshot& snap, PipelineContext& ctx, Packet& pkt,
                          const Service& service, const FlowValue& flow) {
  const uint32_t client_isn = static_cast<uint32_t>(ctx.flows.proxy_word(flow));
  const size_t length =
      build_backend_syn(pkt.buffer, pkt.length, pkt.parsed, flow.backend, flow.backend_port,
                        client_isn, proxied_mss(flow), kProxyWindow);
  if (length == 0) return drop(ctx, DropReason::no_room_for_reply);
  pkt.length = static_cast<uint16_t>(length);
  uint16_t egress = kNoPort;
  if (DropReason reason = next_hop_to_backend(snap, pkt, service, flow, egress);
      reason != DropReason::none) {
    return drop(ctx, reason);
  }
  ++ctx.counters.syn_proxy_backend_syns;
  return {Verdict::forward, DropReason::none, egress, pkt.length};
}

// An ACK that misses the flow table, to a service with a SYN proxy: when its cookie is good, the
// flow is opened and the back-end's side with it. Returns nothing when the cookie is not good.
std::optional<Decision> open_proxied_flow(const Snapshot& snap, PipelineContext& ctx, Packet& pkt,
                                          const Service& service) {
  const ParsedPacket& p = pkt.parsed;
  const uint32_t client_isn = p.tcp_seq - 1;
  const uint32_t cookie = p.tcp_ack - 1;
  const std::optional<uint8_t> mss_class = check_syn_cookie(
      snap.syn_cookie_key, pkt.key, client_isn, cookie, syn_cookie_clock(ctx.wall_seconds));
  if (!mss_class) return std::nullopt;
  const Backend* backend = schedule(service, pkt.hash, pkt.key.src);
  if (backend == nullptr) return drop(ctx, DropReason::service_without_backends);
  const uint8_t flags =
      kFlowProxied | kFlowProxyOpening | static_cast<uint8_t>(*mss_class << kFlowMssShift);
  FlowValue value{backend->address, backend->port, TcpFlowState::none, flags, 0};
  FlowEviction evicted = FlowEviction::none;
  FlowValue* flow = ctx.flows.insert(pkt.key, pkt.place, value, ctx.now_ms, &evicted);
  // A proxied flow cannot go untracked (its offset lives in the entry): the client sends its
  // first segment again, with the same cookie, and finds room then or later.
  if (flow == nullptr) return drop(ctx, DropReason::proxied_flow_untracked);
  if (evicted != FlowEviction::none) [[unlikely]] {
    ++(evicted == FlowEviction::half_open ? ctx.counters.flows_evicted_half_open
                                          : ctx.counters.flows_evicted_closing);
  }
  ctx.flows.proxy_word(*flow) = uint64_t{cookie} << 32 | client_isn;
  ctx.flows.observe(*flow, p.l4_protocol, p.tcp_flags, ctx.now_ms, snap.timeouts);
  ++ctx.counters.flows_created;
  ++ctx.counters.syn_cookies_validated;
  ++ctx.syn_proxy.validated;
  count_new_flow(ctx, *backend);
  if (ServiceEvents* events = service_events(ctx, service)) ++events->cookies_validated;
  return send_backend_syn(snap, ctx, pkt, service, *flow);
}

// A client's segment of a proxied flow.
Decision proxied_client_segment(const Snapshot& snap, PipelineContext& ctx, Packet& pkt,
                                const Service& service, FlowValue& flow) {
  const ParsedPacket& p = pkt.parsed;
  ctx.flows.observe(flow, p.l4_protocol, p.tcp_flags, ctx.now_ms, snap.timeouts);
  if ((flow.flags & kFlowProxyOpening) && !(p.tcp_flags & kTcpRst)) {
    return send_backend_syn(snap, ctx, pkt, service,
                            flow);  // its payload waits for the client's resend
  }
  // A reset while opening carries the client's sequence number alone, which the back-end's side
  // already shares: it goes as it is.
  if ((p.tcp_flags & kTcpAck) && !(flow.flags & kFlowProxyOpening)) {
    shift_tcp_ack(pkt.frame(), p, static_cast<uint32_t>(ctx.flows.proxy_word(flow)));
  }
  return forward_to_backend(snap, ctx, pkt, service, flow.backend, flow.backend_port);
}

// A nat back-end's segment to a client, for a service with a SYN proxy: the SYN-ACK of a proxied
// flow is answered with the ACK that completes the back-end's handshake (the client had its own),
// and the other segments of proxied flows get the client's sequence numbers. Returns nothing for
// a segment of a flow that is not proxied (or not on this worker): plain reverse NAT.
std::optional<Decision> proxied_backend_segment(PipelineContext& ctx, Packet& pkt,
                                                const Service& service) {
  const ParsedPacket& p = pkt.parsed;
  const FlowKey key{p.dst, service.vip, p.dst_port, service.port, kProtoTcp};
  FlowValue* flow = ctx.flows.lookup(key, flow_hash(key), ctx.now_ms);
  if (flow == nullptr || !(flow->flags & kFlowProxied) || flow->backend != p.src ||
      flow->backend_port != p.src_port) {
    return std::nullopt;
  }
  uint64_t& word = ctx.flows.proxy_word(*flow);
  if ((p.tcp_flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck)) {
    if (flow->flags & kFlowProxyOpening) {
      const uint32_t cookie = static_cast<uint32_t>(word >> 32);
      word = p.tcp_seq - cookie;
      flow->flags &= static_cast<uint8_t>(~kFlowProxyOpening);
    }
    ++ctx.counters.syn_proxy_backend_acks;  // also for a repeated SYN-ACK: our ACK was lost
    return send_reply(ctx, pkt, build_backend_ack(pkt.buffer, pkt.length, p, kProxyWindow));
  }
  if (flow->flags & kFlowProxyOpening) {
    // Before its SYN-ACK, only a reset makes sense from the back-end (refused): the client gets
    // it in the cookie's sequence space; anything else cannot be translated yet.
    if (!(p.tcp_flags & kTcpRst)) return drop(ctx, DropReason::proxied_flow_opening);
    shift_tcp_seq(pkt.frame(), p, p.tcp_seq - (static_cast<uint32_t>(word >> 32) + 1));
    return std::nullopt;
  }
  shift_tcp_seq(pkt.frame(), p, static_cast<uint32_t>(word));
  return std::nullopt;
}

// A packet that found no flow (or whose flow just ended): the SYN proxy, the missing-flow policy,
// then the scheduler's choice, stored as a new flow when there is room. Inlined into its one
// caller: a helper for reading's sake, not a call on the miss path.
[[gnu::always_inline]] inline Decision open_flow(const Snapshot& snap, PipelineContext& ctx,
                                                 Packet& pkt, const Service& service,
                                                 ServiceEvents* events, bool bare_syn) {
  const ParsedPacket& p = pkt.parsed;
  const FlowKey& key = pkt.key;
  const uint64_t hash = pkt.hash;
  if (!service.accepting) return handle_unserved(snap, ctx, pkt);
  // Whether a segment that misses may leave an entry: not while a SYN proxy answers, when only a
  // cookie opens a flow (a flood of other segments would fill the table that cookies need).
  bool track = true;
  if (service.syn_proxy != SynProxyMode::off && p.l4_protocol == kProtoTcp) {
    if (bare_syn) {
      if (syn_proxy_engaged(ctx, service)) return answer_with_cookie(snap, ctx, pkt, service);
    } else {
      if ((p.tcp_flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpAck) {
        if (std::optional<Decision> opened = open_proxied_flow(snap, ctx, pkt, service)) {
          return *opened;
        }
      }
      // Under `always` every connection starts with a cookie, so a segment without a flow and
      // without a good cookie belongs to none. Under `under_pressure` it may belong to a flow
      // whose entry was never made (untracked) or was lost: the missing-flow policy, untracked
      // while the proxy is engaged.
      if (service.syn_proxy == SynProxyMode::always) {
        if (events != nullptr) ++events->cookies_invalid;
        return drop(ctx, DropReason::bad_syn_cookie);
      }
      track = !syn_proxy_engaged(ctx, service);
    }
  }
  if (!opens_flow(p)) {
    if (service.missing_flow == MissingFlowPolicy::strict) {
      ++ctx.counters.drops[static_cast<size_t>(DropReason::strict_no_flow)];
      return tcp_reset(ctx, pkt);
    }
    ++ctx.counters.flows_consistent;
  }
  const Backend* backend = schedule(service, hash, key.src);
  if (backend == nullptr) return drop(ctx, DropReason::service_without_backends);
  if (!track) return forward_to_backend(snap, ctx, pkt, service, backend->address, backend->port);
  count_new_flow(ctx, *backend);
  FlowValue value{backend->address, backend->port, TcpFlowState::none, 0, 0};
  FlowEviction evicted = FlowEviction::none;
  FlowValue* flow = ctx.flows.insert(key, pkt.place, value, ctx.now_ms, &evicted);
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
  ctx.flows.observe(*flow, p.l4_protocol, p.tcp_flags, ctx.now_ms, snap.timeouts);
  // flow_sync: TCP flows are shared once established (FlowTable::observe); others from the start.
  if (p.l4_protocol != kProtoTcp) ctx.flows.journal_new(key, *flow);
  return forward_to_backend(snap, ctx, pkt, service, flow->backend, flow->backend_port);
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
    if (ctx.backend_counters != nullptr) {
      const Backend* down = backend_of(service, *flow);
      if (BackendTraffic* traffic = ctx.backend_counters->of(down->stats_slot)) {
        ++traffic->flows_reset;
      }
    }
    if (!opens_flow(p)) return tcp_reset(ctx, pkt);
    flow = nullptr;
  }
  if (flow != nullptr && bare_syn && syn_starts_over(service, *flow)) {
    ctx.flows.erase(key, hash);
    ++ctx.counters.flows_reused;
    flow = nullptr;
  }
  if (flow != nullptr && (flow->flags & kFlowProxied)) {
    return proxied_client_segment(snap, ctx, pkt, service, *flow);
  }
  if (flow == nullptr) return open_flow(snap, ctx, pkt, service, events, bare_syn);
  // A flow adopted from another node now reaches this one: this node carries it from here on.
  flow->flags &= static_cast<uint8_t>(~kFlowAdopted);
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
  FlowValue* flow = ctx.flows.lookup(pkt.key, pkt.place, pkt.candidate, ctx.now_ms);
  const bool syn = p.l4_protocol == kProtoTcp && (p.tcp_flags & kTcpSyn);
  if (flow == nullptr || syn || service.resets_flows || flow->flags != 0) [[unlikely]] {
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

// A fragment the worker's reassembly table takes (rte_ip_frag, dataplane/fragment_reassembler):
// an IPv4 fragment, or an IPv6 one whose fragment header follows the fixed header (where
// rte_ip_frag looks for it), that fits in a 64 KB datagram and carries data.
Decision reassemble(const Snapshot& snap, PipelineContext& ctx, const Packet& pkt) {
  if (!snap.reassemble_fragments) return drop(ctx, DropReason::fragment_to_service);
  const ParsedPacket& p = pkt.parsed;
  const uint8_t* ip = pkt.buffer.data() + p.l3_offset;
  uint32_t offset = 0;
  uint32_t data = 0;
  uint32_t header = 0;  // the whole datagram's IP header
  if (p.l3 == L3Kind::ipv4) {
    offset = uint32_t{load_be16(ip + 6) & 0x1FFFu} * 8;
    header = p.l4_offset - p.l3_offset;
    data = p.ip_end - p.l4_offset;
  } else {
    if (ip[6] != kIpv6FragmentHeader) return drop(ctx, DropReason::fragment_unsupported);
    offset = load_be16(ip + 42) & 0xFFF8u;
    header = 40;
    data = p.ip_end - (p.l3_offset + 48u);
  }
  if (data == 0) return drop(ctx, DropReason::fragment_invalid);
  // The whole frame must fit the 16-bit frame lengths the pipeline works with.
  if (p.l3_offset + header + offset + data > 65535) {
    return drop(ctx, DropReason::fragment_oversized);
  }
  if (snap.deny_clients.contains(p.src)) return drop(ctx, DropReason::denied_client);
  ++ctx.counters.fragments_held;
  return {Verdict::reassemble, DropReason::none, pkt.in_port, pkt.length};
}

Decision handle_vip(const Snapshot& snap, PipelineContext& ctx, Packet& pkt) {
  const ParsedPacket& p = pkt.parsed;
  if (p.l4_protocol == kProtoTcp || p.l4_protocol == kProtoUdp) {
    // A first fragment to a port no service serves is answered like any packet to it.
    if (p.is_fragment && (p.is_later_fragment || pkt.service != nullptr)) [[unlikely]] {
      return reassemble(snap, ctx, pkt);
    }
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
                     const NatSource& source) {
  const Service& service = snap.services[source.service];
  if (service.syn_proxy != SynProxyMode::off && pkt.parsed.l4_protocol == kProtoTcp) [[unlikely]] {
    if (std::optional<Decision> decided = proxied_backend_segment(ctx, pkt, service)) {
      return *decided;
    }
  }
  nat_rewrite_source(pkt.frame(), pkt.parsed, service.vip, service.port);
  ++ctx.counters.nat_reversed;
  if (ctx.backend_counters != nullptr) {
    if (BackendTraffic* traffic = ctx.backend_counters->of(source.stats_slot)) {
      ++traffic->packets_out;
      traffic->bytes_out += pkt.length;
    }
  }
  return handle_transit(snap, ctx, pkt);
}

const NatSource* nat_source_of(const Snapshot& snap, const ParsedPacket& p) {
  if (snap.nat_service_by_backend.empty() || p.is_later_fragment) return nullptr;
  if (p.l4_protocol != kProtoTcp && p.l4_protocol != kProtoUdp) return nullptr;
  return snap.nat_service_by_backend.find(Endpoint{p.src, p.src_port, p.l4_protocol});
}

// Stage one: parse, classify the destination and start the flow-table lookup, so that a burst's
// lookups overlap their cache misses instead of paying them one after another.
// Sets every field decide() reads: a burst's Packets are reused from one burst to the next.
// `ipv4_checksum_good`: FrameRef's, the NIC's verdict.
void prepare(const Snapshot& snap, PipelineContext& ctx, Packet& pkt,
             bool ipv4_checksum_good = false) {
  pkt.service = nullptr;
  pkt.hash = 0;
  pkt.parse_result = parse_frame(pkt.frame(), pkt.parsed, ipv4_checksum_good);
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
  // A nat back-end's fragmented reply: only the whole datagram has the ports to translate.
  if (p.is_fragment && snap.role_of(p.src).nat_backend) [[unlikely]] {
    return reassemble(snap, ctx, pkt);
  }
  if (const NatSource* source = nat_source_of(snap, p)) return reverse_nat(snap, ctx, pkt, *source);
  return handle_transit(snap, ctx, pkt);
}

}  // namespace

bool SynProxyEngagement::engaged(bool table_under_pressure, uint64_t now_ms) {
  if (now_ms - window_start_ms >= kWindowMs) {
    if (sent >= kMinUnanswered && sent > uint64_t{2} * validated) until_ms = now_ms + kHoldMs;
    window_start_ms = now_ms;
    sent = validated = 0;
  }
  if (table_under_pressure) until_ms = now_ms + kHoldMs;
  return now_ms < until_ms;
}

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
  auto prepare_step = [&](size_t i) {
    packets[i].buffer = frames[i].buffer;
    packets[i].length = frames[i].length;
    packets[i].in_port = in_port;
    prepare(snap, ctx, packets[i], frames[i].ipv4_checksum_good);
  };
  auto entry_step = [&](size_t i) {
    Packet& pkt = packets[i];
    pkt.candidate = pkt.hash != 0 ? ctx.flows.prefetch_entry(pkt.place) : FlowTable::Candidate{};
  };
  auto step = [&](size_t i) {  // any step, each stage when it has a packet
    if (i < count) prepare_step(i);
    if (i >= kEntryLag && i - kEntryLag < count) entry_step(i - kEntryLag);
    if (i >= kDecideLag) decisions[i - kDecideLag] = decide(snap, ctx, packets[i - kDecideLag]);
  };
  // The same steps in the same order, the middle ones (all three stages busy, the most of a full
  // burst) without step()'s range checks.
  size_t i = 0;
  for (; i < std::min(count, kDecideLag); ++i) step(i);
  for (; i < count; ++i) {
    prepare_step(i);
    entry_step(i - kEntryLag);
    decisions[i - kDecideLag] = decide(snap, ctx, packets[i - kDecideLag]);
  }
  for (; i < count + kDecideLag; ++i) step(i);
}

}  // namespace fairway
