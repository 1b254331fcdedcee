#pragma once
// Loads and stores of packet fields. Packets give no alignment guarantee, so every access goes
// through memcpy (the compiler turns it into a plain load) instead of a pointer cast.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace fairway {

// Big-endian (network order) fields, converted to and from host order.
inline uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// 16-bit words exactly as stored, for checksums: one's-complement sums do not depend on byte
// order, so checksum code never needs to swap.
inline uint16_t load_raw16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_raw16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace fairway
