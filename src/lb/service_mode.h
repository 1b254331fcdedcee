#pragma once
// Per-service choices shared by the configuration, the snapshot and the pipeline.
#include <cstdint>

namespace fairway {

// dsr: only MAC addresses change; the back-end answers the client directly with the VIP.
// nat: destination address and port change; replies come back through us and are reversed.
enum class ForwardingMode : uint8_t { dsr, nat };

// What a TCP segment without SYN that misses the flow table gets: the Maglev choice
// (survives a restart or an ECMP shift between nodes) or a reset (the patent's behaviour;
// docs/DESIGN.md).
enum class MissingFlowPolicy : uint8_t { consistent, strict };

// What happens to the established flows of a back-end its health check declares down: they go on
// until they end (keep), or their next packet is answered with a reset (reset).
enum class BackendDownPolicy : uint8_t { keep, reset };

}  // namespace fairway

namespace fairway {

// When a nat TCP service answers clients' SYNs itself with a SYN cookie (docs/ARCHITECTURE.md,
// "SYN proxy"): never, while the worker's flow table is under pressure (and for a while after),
// or for every connection.
enum class SynProxyMode : uint8_t { off, under_pressure, always };

// "off", "under_pressure", "always": as the configuration spells them.
constexpr const char* syn_proxy_name(SynProxyMode mode) {
  return mode == SynProxyMode::always           ? "always"
         : mode == SynProxyMode::under_pressure ? "under_pressure"
                                                : "off";
}

}  // namespace fairway
