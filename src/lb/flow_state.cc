#include "lb/flow_state.h"

#include "packet/parse.h"

namespace fairway {
namespace {

uint64_t tcp_timeout(TcpFlowState state, const FlowTimeouts& t) {
  switch (state) {
    case TcpFlowState::established:
      return t.tcp_established_ms;
    case TcpFlowState::closing:
      return t.tcp_closing_ms;
    case TcpFlowState::none:  // an odd opening segment: keep it short-lived like a SYN
    case TcpFlowState::syn_seen:
      break;
  }
  return t.tcp_syn_ms;
}

// Only the client's side is seen (the server answers directly in dsr), so the state follows the
// client's flags alone: SYN opens, a plain ACK confirms, FIN or RST starts the end.
TcpFlowState next_tcp_state(TcpFlowState state, uint8_t tcp_flags) {
  if (state == TcpFlowState::closing) return state;
  if (tcp_flags & (kTcpFin | kTcpRst)) return TcpFlowState::closing;
  const bool syn = tcp_flags & kTcpSyn;
  const bool ack = tcp_flags & kTcpAck;
  if (syn && !ack) return TcpFlowState::syn_seen;
  if (ack && !syn && state != TcpFlowState::established) return TcpFlowState::established;
  return state;
}

}  // namespace

const char* tcp_state_name(TcpFlowState state) {
  switch (state) {
    case TcpFlowState::none:
      return "none";
    case TcpFlowState::syn_seen:
      return "syn_seen";
    case TcpFlowState::established:
      return "established";
    case TcpFlowState::closing:
      return "closing";
  }
  return "unknown";
}

void flow_observe(FlowValue& flow, uint8_t protocol, uint8_t tcp_flags, uint64_t now_ms,
                  const FlowTimeouts& timeouts) {
  uint64_t timeout = timeouts.other_ms;
  if (protocol == kProtoTcp) {
    flow.tcp_state = next_tcp_state(flow.tcp_state, tcp_flags);
    timeout = tcp_timeout(flow.tcp_state, timeouts);
  } else if (protocol == kProtoUdp) {
    timeout = timeouts.udp_ms;
  }
  flow.expires_at_ms = static_cast<uint32_t>(now_ms + timeout);
}

}  // namespace fairway
