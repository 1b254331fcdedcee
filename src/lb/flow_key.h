#pragma once
// The 5-tuple that identifies a flow, and its hash. The hash has a fixed seed on purpose:
// every Fairway node with the same configuration must make the same Maglev choice for a flow.
#include <cstdint>
#include <cstring>

#include "packet/addresses.h"

namespace fairway {

struct FlowKey {
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;  // host byte order; ICMP echo uses the identifier, else 0
  uint16_t dst_port = 0;
  uint8_t protocol = 0;
  uint8_t pad[3] = {0, 0, 0};  // always zero, so keys compare and hash as bytes
  // Word-wise: keys are compared on every flow-table probe.
  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    uint64_t x[5], y[5];
    std::memcpy(x, &a, sizeof x);
    std::memcpy(y, &b, sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
  }
};
static_assert(sizeof(FlowKey) == 40);

uint64_t flow_hash(const FlowKey& key);

}  // namespace fairway
