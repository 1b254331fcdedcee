#pragma once
// Per-service choices shared by the configuration, the snapshot and the pipeline.
#include <cstdint>

namespace fairway {

// dsr: only MAC addresses change; the back-end answers the client directly with the VIP.
// nat: destination address and port change; replies come back through us and are reversed.
enum class ForwardingMode : uint8_t { dsr, nat };

// What a TCP segment without SYN that misses the flow table gets: the Maglev choice
// (survives a restart or an ECMP shift between nodes) or a reset (the patent's behaviour).
enum class MissingFlowPolicy : uint8_t { consistent, strict };

// What happens to the established flows of a back-end its health check declares down: they go on
// until they end (keep), or their next packet is answered with a reset (reset).
enum class BackendDownPolicy : uint8_t { keep, reset };

}  // namespace fairway
