#include "pipeline/prefix_set.h"

#include <algorithm>

namespace fairway {

IpAddress PrefixSet::masked(const IpAddress& address, unsigned mapped_length) {
  IpAddress out = address;
  for (unsigned byte = 0; byte < out.bytes.size(); ++byte) {
    const unsigned first_bit = byte * 8;
    if (first_bit >= mapped_length) {
      out.bytes[byte] = 0;
    } else if (first_bit + 8 > mapped_length) {
      out.bytes[byte] &= static_cast<uint8_t>(0xff << (8 - (mapped_length - first_bit)));
    }
  }
  return out;
}

void PrefixSet::add(const IpPrefix& prefix) {
  const Length length{prefix.mapped_length(), prefix.address.is_v4()};
  if (std::find(lengths_.begin(), lengths_.end(), length) == lengths_.end()) {
    lengths_.push_back(length);
  }
  masked_.emplace(Masked{masked(prefix.address, length.mapped), length}, 0);
}

}  // namespace fairway
