#pragma once
// A flow's state apart from the table that stores it: the TCP state machine (the client's side
// only), the per-state timeouts, and the value a flow-table entry holds. The configuration needs
// the timeouts without the table; the table needs all of it.
#include <cstdint>

#include "lb/flow_key.h"
#include "packet/addresses.h"

namespace fairway {

enum class TcpFlowState : uint8_t { none = 0, syn_seen, established, closing };

// "none", "syn_seen", "established", "closing": for listings and logs.
const char* tcp_state_name(TcpFlowState state);

// Per-state idle timeouts in milliseconds.
struct FlowTimeouts {
  uint64_t tcp_syn_ms = 30'000;
  // A half-open flow's lifetime while the table is under pressure (a SYN flood filling it): a
  // real client's ACK follows its SYN within a round trip, a spoofed SYN's never comes.
  uint64_t tcp_syn_under_pressure_ms = 3'000;
  uint64_t tcp_established_ms = 900'000;
  uint64_t tcp_closing_ms = 30'000;
  uint64_t udp_ms = 300'000;
  uint64_t other_ms = 60'000;  // ICMP echo and other protocols
};

// FlowValue::flags.
// Opened by the SYN proxy: the client's handshake was answered with a cookie, the back-end's was
// opened by the load balancer, and sequence numbers are translated between the two.
inline constexpr uint8_t kFlowProxied = 0x01;
// A proxied flow whose back-end has not yet answered its SYN.
inline constexpr uint8_t kFlowProxyOpening = 0x02;
// Adopted from another node (flow_sync) and not yet seen here: not sent back to the peers. The
// first packet of the flow that reaches this node clears it (the node then carries the flow).
inline constexpr uint8_t kFlowAdopted = 0x08;
// Bits 4..6: the MSS class of the proxied flow's cookie (lb/syn_cookie.h).
inline constexpr unsigned kFlowMssShift = 4;
inline constexpr uint8_t kFlowMssMask = 0x70;

struct FlowValue {
  IpAddress backend;          // where the flow goes; a stable identity, not a table index
  uint16_t backend_port = 0;  // host byte order (== VIP port for dsr)
  TcpFlowState tcp_state = TcpFlowState::none;
  uint8_t flags = 0;  // kFlow*: zero for every flow but the SYN proxy's
  // Milliseconds on the worker's clock, modulo 2^32: compared with serial-number arithmetic
  // (flow_alive), which is exact while timeouts stay under 24 days (the config caps them at 7).
  // 32 bits keep key and value in one 64-byte cache line.
  uint32_t expires_at_ms = 0;
};
static_assert(sizeof(FlowKey) + sizeof(FlowValue) == 64);

// Whether a flow expiring at `expires_at_ms` is still alive at `now_ms`.
inline bool flow_alive(uint32_t expires_at_ms, uint64_t now_ms) {
  return static_cast<int32_t>(expires_at_ms - static_cast<uint32_t>(now_ms)) > 0;
}

// Advances the TCP state machine for a segment seen from the client and sets the expiry.
// For non-TCP protocols only the expiry moves.
void flow_observe(FlowValue& flow, uint8_t protocol, uint8_t tcp_flags, uint64_t now_ms,
                  const FlowTimeouts& timeouts);

}  // namespace fairway
