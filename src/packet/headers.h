#pragma once
// Wire layouts as field offsets and sizes. Headers are read through byte_order.h, never through
// structs laid over the buffer, because received frames may sit at any alignment.
#include <cstddef>
#include <cstdint>

namespace fairway {

namespace eth {
inline constexpr size_t kDst = 0;
inline constexpr size_t kSrc = 6;
inline constexpr size_t kEtherType = 12;
inline constexpr size_t kSize = 14;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
}  // namespace eth

namespace ipv4 {
inline constexpr size_t kVersionIhl = 0;
inline constexpr size_t kTos = 1;
inline constexpr size_t kTotalLength = 2;
inline constexpr size_t kId = 4;
inline constexpr size_t kFlagsFragment = 6;
inline constexpr size_t kTtl = 8;
inline constexpr size_t kProtocol = 9;
inline constexpr size_t kChecksum = 10;
inline constexpr size_t kSrc = 12;
inline constexpr size_t kDst = 16;
inline constexpr size_t kMinSize = 20;
inline constexpr uint16_t kDontFragment = 0x4000;
inline constexpr uint16_t kMoreFragments = 0x2000;
inline constexpr uint16_t kOffsetMask = 0x1fff;
}  // namespace ipv4

namespace ipv6 {
inline constexpr size_t kPayloadLength = 4;
inline constexpr size_t kNextHeader = 6;
inline constexpr size_t kHopLimit = 7;
inline constexpr size_t kSrc = 8;
inline constexpr size_t kDst = 24;
inline constexpr size_t kSize = 40;
inline constexpr uint8_t kHopByHop = 0;
inline constexpr uint8_t kRouting = 43;
inline constexpr uint8_t kFragment = 44;
inline constexpr uint8_t kAuthentication = 51;
inline constexpr uint8_t kDestinationOptions = 60;
inline constexpr size_t kFragmentHeaderSize = 8;
}  // namespace ipv6

namespace tcp {
inline constexpr size_t kSrcPort = 0;
inline constexpr size_t kDstPort = 2;
inline constexpr size_t kSeq = 4;
inline constexpr size_t kAck = 8;
inline constexpr size_t kDataOffset = 12;
inline constexpr size_t kFlags = 13;
inline constexpr size_t kWindow = 14;
inline constexpr size_t kChecksum = 16;
inline constexpr size_t kUrgent = 18;
inline constexpr size_t kMinSize = 20;
}  // namespace tcp

namespace udp {
inline constexpr size_t kSrcPort = 0;
inline constexpr size_t kDstPort = 2;
inline constexpr size_t kLength = 4;
inline constexpr size_t kChecksum = 6;
inline constexpr size_t kSize = 8;
}  // namespace udp

namespace icmp {
inline constexpr size_t kType = 0;
inline constexpr size_t kCode = 1;
inline constexpr size_t kChecksum = 2;
inline constexpr size_t kMinSize = 4;
inline constexpr size_t kEchoSize = 8;  // with identifier and sequence
// Errors quote the offending datagram after the 4 bytes following the checksum.
inline constexpr size_t kErrorQuoteOffset = 8;
inline constexpr uint8_t kEchoReply = 0;
inline constexpr uint8_t kDestinationUnreachable = 3;
inline constexpr uint8_t kEchoRequest = 8;
inline constexpr uint8_t kTimeExceeded = 11;
inline constexpr uint8_t kParameterProblem = 12;
inline constexpr uint8_t kPortUnreachable = 3;
}  // namespace icmp

namespace icmpv6 {
inline constexpr uint8_t kDestinationUnreachable = 1;
inline constexpr uint8_t kPacketTooBig = 2;
inline constexpr uint8_t kTimeExceeded = 3;
inline constexpr uint8_t kParameterProblem = 4;
inline constexpr uint8_t kEchoRequest = 128;
inline constexpr uint8_t kEchoReply = 129;
inline constexpr uint8_t kPortUnreachable = 4;
}  // namespace icmpv6

}  // namespace fairway
