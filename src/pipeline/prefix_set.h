#pragma once
// A set of address prefixes (the deny lists), asked "does any prefix contain this address?" once
// per packet: one hash lookup per distinct (family, prefix length) present, none when empty.
// Built by the control core with the snapshot, then only read.
#include <cstdint>
#include <cstring>
#include <vector>

#include "packet/addresses.h"
#include "pipeline/flat_map.h"

namespace fairway {

class PrefixSet {
 public:
  void add(const IpPrefix& prefix);
  bool empty() const { return lengths_.empty(); }
  size_t size() const { return masked_.size(); }
  bool contains(const IpAddress& address) const {
    const bool v4 = address.is_v4();
    for (const Length& length : lengths_) {
      // The family is part of the key: an IPv6 prefix such as ::/0 never covers IPv4 clients
      // (they are held IPv4-mapped), as IpPrefix::contains() says.
      if (length.v4 == v4 && masked_.contains(Masked{masked(address, length.mapped), length})) {
        return true;
      }
    }
    return false;
  }

 private:
  struct Length {
    uint8_t mapped = 0;  // IpPrefix::mapped_length(): 0..128
    bool v4 = false;
    friend bool operator==(const Length&, const Length&) = default;
  };
  struct Masked {
    IpAddress address;  // masked to the length
    Length length;
    friend bool operator==(const Masked&, const Masked&) = default;
  };
  struct MaskedHash {
    uint64_t operator()(const Masked& m) const {
      uint64_t hi, lo;
      std::memcpy(&hi, m.address.bytes.data(), 8);
      std::memcpy(&lo, m.address.bytes.data() + 8, 8);
      const uint64_t extra = uint64_t{m.length.mapped} << 1 | uint64_t{m.length.v4};
      return ((hi * 0x9e3779b97f4a7c15ULL) ^ lo ^ extra) * 0xc2b2ae3d27d4eb4fULL;
    }
  };
  static IpAddress masked(const IpAddress& address, unsigned mapped_length);

  std::vector<Length> lengths_;  // distinct
  FlatMap<Masked, uint8_t, MaskedHash> masked_;
};

}  // namespace fairway
