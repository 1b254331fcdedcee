// libFuzzer target: parse_frame and parse_icmp_quote over arbitrary bytes.
// The input buffer is exactly the frame (libFuzzer allocates it to size), so ASan reports any
// read past the span; the checks below are the offset invariants the pipeline relies on.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "fuzz_check.h"
#include "packet/parse.h"

using namespace fairway;

namespace {

constexpr size_t kEthSize = 14;
constexpr size_t kMaxFrame = 0xffff;  // parse_frame looks at no more than this

void check_parsed(std::span<const uint8_t> frame, const ParsedPacket& p) {
  const size_t size = frame.size() < kMaxFrame ? frame.size() : kMaxFrame;
  FUZZ_CHECK(size >= kEthSize);
  FUZZ_CHECK(p.ethertype == (frame[12] << 8 | frame[13]));
  FUZZ_CHECK(!p.is_later_fragment || p.is_fragment);
  if (p.l3 == L3Kind::other || p.l3 == L3Kind::arp) {
    FUZZ_CHECK(p.l3 != L3Kind::arp || p.ethertype == kEtherTypeArp);
    return;
  }
  FUZZ_CHECK(p.l3_offset == kEthSize);
  FUZZ_CHECK(p.l3_offset <= p.l4_offset);
  FUZZ_CHECK(p.l4_offset <= p.ip_end);
  FUZZ_CHECK(p.ip_end <= size);
  if (p.l3 == L3Kind::ipv4) {
    FUZZ_CHECK(p.ethertype == kEtherTypeIpv4);
    size_t header = size_t{p.l4_offset} - p.l3_offset;
    FUZZ_CHECK(header >= 20 && header <= 60 && header % 4 == 0);
    FUZZ_CHECK(p.src.is_v4() && p.dst.is_v4());
    FUZZ_CHECK(std::memcmp(p.src.v4_bytes(), frame.data() + p.l3_offset + 12, 4) == 0);
    FUZZ_CHECK(std::memcmp(p.dst.v4_bytes(), frame.data() + p.l3_offset + 16, 4) == 0);
  } else {
    FUZZ_CHECK(p.l3 == L3Kind::ipv6);
    FUZZ_CHECK(p.ethertype == kEtherTypeIpv6);
    FUZZ_CHECK(size_t{p.l4_offset} >= size_t{p.l3_offset} + 40);
    FUZZ_CHECK(std::memcmp(p.src.bytes.data(), frame.data() + p.l3_offset + 8, 16) == 0);
    FUZZ_CHECK(std::memcmp(p.dst.bytes.data(), frame.data() + p.l3_offset + 24, 16) == 0);
  }
  if (p.is_later_fragment) return;
  const size_t l4_size = size_t{p.ip_end} - p.l4_offset;
  if (p.l4_protocol == kProtoTcp) {
    FUZZ_CHECK(l4_size >= 20);
    FUZZ_CHECK(size_t{p.l4_payload_length} + 20 <= l4_size);
  } else if (p.l4_protocol == kProtoUdp) {
    FUZZ_CHECK(l4_size >= 8);
    FUZZ_CHECK(size_t{p.l4_payload_length} + 8 == l4_size);
  } else if ((p.l3 == L3Kind::ipv4 && p.l4_protocol == kProtoIcmp) ||
             (p.l3 == L3Kind::ipv6 && p.l4_protocol == kProtoIcmpv6)) {
    FUZZ_CHECK(l4_size >= 4);
  }
}

void check_quote(std::span<const uint8_t> frame, const ParsedPacket& p, const QuotedPacket& q) {
  FUZZ_CHECK(is_icmp_error(p));
  FUZZ_CHECK(size_t{q.l3_offset} == size_t{p.l4_offset} + 8);
  FUZZ_CHECK(q.l3_offset <= q.l4_offset);
  FUZZ_CHECK(size_t{q.l4_offset} + 8 <= q.end);
  FUZZ_CHECK(q.end == p.ip_end);
  FUZZ_CHECK(q.end <= frame.size());
  if (p.l3 == L3Kind::ipv4) {
    size_t header = size_t{q.l4_offset} - q.l3_offset;
    FUZZ_CHECK(header >= 20 && header <= 60 && header % 4 == 0);
    FUZZ_CHECK(q.src.is_v4() && q.dst.is_v4());
  } else {
    FUZZ_CHECK(size_t{q.l4_offset} >= size_t{q.l3_offset} + 40);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> frame(data, size);
  ParsedPacket p;
  p.l4_offset = 0x1234;  // parse_frame must reset every field it does not set
  DropReason r = parse_frame(frame, p);
  FUZZ_CHECK(static_cast<size_t>(r) < kDropReasonCount);

  // Deterministic: the same bytes give the same result, whatever `out` held before.
  ParsedPacket again;
  std::memset(static_cast<void*>(&again), 0xa5, sizeof again);
  FUZZ_CHECK(parse_frame(frame, again) == r);
  // parse_frame's fast path for the common frame decides exactly as the general parser.
  ParsedPacket general;
  FUZZ_CHECK(parse_frame_general(frame, general) == r);
  FUZZ_CHECK(general == p);
  if (r != DropReason::none) return 0;
  FUZZ_CHECK(again.l3 == p.l3 && again.l4_offset == p.l4_offset && again.ip_end == p.ip_end &&
             again.l4_protocol == p.l4_protocol && again.src == p.src && again.dst == p.dst &&
             again.src_port == p.src_port && again.dst_port == p.dst_port &&
             again.is_fragment == p.is_fragment && again.tcp_flags == p.tcp_flags);
  check_parsed(frame, p);

  QuotedPacket q;
  DropReason qr = parse_icmp_quote(frame, p, q);
  FUZZ_CHECK(static_cast<size_t>(qr) < kDropReasonCount);
  if (!is_icmp_error(p)) {
    FUZZ_CHECK(qr == DropReason::bad_icmp_quote);
    return 0;
  }
  if (qr == DropReason::none) check_quote(frame, p, q);
  return 0;
}
