#include "packet/rewrite.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "frame_builder.h"

namespace fairway {
namespace {

using test::Bytes;
using test::FrameSpec;

ParsedPacket parsed(const Bytes& frame) {
  ParsedPacket p;
  EXPECT_EQ(parse_frame(frame, p), DropReason::none);
  return p;
}

std::string random_address(std::mt19937& rng, bool v6) {
  uint8_t b[16];
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return (v6 ? IpAddress::from_v6(b) : IpAddress::from_v4(b)).to_string();
}

// A random packet of the kinds NAT rewrites: TCP, UDP (with or without checksum), ICMP echo,
// with IP options or extension headers, sometimes a fragment.
FrameSpec random_spec(std::mt19937& rng) {
  FrameSpec s;
  bool v6 = rng() % 2;
  s.src = random_address(rng, v6);
  s.dst = random_address(rng, v6);
  const uint8_t protocols[] = {kProtoTcp, kProtoUdp, v6 ? kProtoIcmpv6 : kProtoIcmp};
  s.protocol = protocols[rng() % 3];
  s.src_port = static_cast<uint16_t>(rng());
  s.dst_port = static_cast<uint16_t>(rng());
  s.seq = static_cast<uint32_t>(rng());
  s.ack = static_cast<uint32_t>(rng());
  s.tcp_flags = static_cast<uint8_t>(rng());
  s.icmp_type = v6 ? 128 : 8;
  s.icmp_rest = static_cast<uint32_t>(rng());
  s.ttl = static_cast<uint8_t>(rng());
  s.payload = test::pattern(rng() % 300, static_cast<uint8_t>(rng()));
  s.udp_zero_checksum = !v6 && s.protocol == kProtoUdp && rng() % 4 == 0;
  if (!v6 && rng() % 4 == 0) s.ipv4_options = Bytes(4 * (1 + rng() % 10), 1);
  if (v6 && rng() % 3 == 0) s.extensions = {test::hop_by_hop(), test::destination_options()};
  if (s.protocol == kProtoTcp && rng() % 5 == 0) s.more_fragments = true;
  return s;
}

bool has_ports(const FrameSpec& s) {
  return s.protocol == kProtoTcp || s.protocol == kProtoUdp;
}

TEST(NatRewrite, DestinationMatchesAFreshlyBuiltFrame) {
  std::mt19937 rng(10);
  for (int i = 0; i < 3000; ++i) {
    FrameSpec s = random_spec(rng);
    Bytes frame = test::build_frame(s);
    ParsedPacket p = parsed(frame);
    FrameSpec want = s;
    want.dst = random_address(rng, test::is_v6(s));
    uint16_t port = static_cast<uint16_t>(rng());
    if (has_ports(s)) want.dst_port = port;
    nat_rewrite_destination(frame, p, test::ip(want.dst), port);
    ASSERT_EQ(frame, test::build_frame(want)) << "iteration " << i;
  }
}

TEST(NatRewrite, SourceMatchesAFreshlyBuiltFrame) {
  std::mt19937 rng(11);
  for (int i = 0; i < 3000; ++i) {
    FrameSpec s = random_spec(rng);
    Bytes frame = test::build_frame(s);
    ParsedPacket p = parsed(frame);
    FrameSpec want = s;
    want.src = random_address(rng, test::is_v6(s));
    uint16_t port = static_cast<uint16_t>(rng());
    if (has_ports(s)) want.src_port = port;
    nat_rewrite_source(frame, p, test::ip(want.src), port);
    ASSERT_EQ(frame, test::build_frame(want)) << "iteration " << i;
  }
}

size_t l4_checksum_offset(const FrameSpec& s, const ParsedPacket& p) {
  return p.l4_offset + (s.protocol == kProtoTcp ? 16u : 6u);
}

// RFC 1624's edge: rewrites whose result is a checksum of 0x0000 (sent as 0xffff by UDP), and
// rewrites starting from such a checksum.
TEST(NatRewrite, ChecksumsThroughZero) {
  std::mt19937 rng(12);
  for (int i = 0; i < 400; ++i) {
    FrameSpec s = random_spec(rng);
    s.protocol = i % 2 ? kProtoUdp : kProtoTcp;
    s.udp_zero_checksum = false;
    s.more_fragments = false;
    // Adding the checksum computed with port 0 to the sum makes it 0xffff, so that port
    // yields a computed checksum of 0.
    FrameSpec probe = s;
    probe.dst_port = 0;
    Bytes probe_frame = test::build_frame(probe);
    uint16_t port = test::get16(probe_frame, l4_checksum_offset(s, parsed(probe_frame)));
    if (port == 0xffff) continue;  // the probe itself summed to zero
    FrameSpec zero = s;
    zero.dst_port = port;
    Bytes frame = test::build_frame(s);
    nat_rewrite_destination(frame, parsed(frame), test::ip(s.dst), port);
    Bytes want = test::build_frame(zero);
    ASSERT_EQ(test::get16(want, l4_checksum_offset(s, parsed(want))),
              s.protocol == kProtoUdp ? 0xffff : 0x0000);
    ASSERT_EQ(frame, want) << "to zero, iteration " << i;
    // And away from it again.
    FrameSpec away = zero;
    away.dst_port = static_cast<uint16_t>(rng());
    nat_rewrite_destination(frame, parsed(frame), test::ip(s.dst), away.dst_port);
    ASSERT_EQ(frame, test::build_frame(away)) << "from zero, iteration " << i;
  }
}

TEST(NatRewrite, UdpOverIpv4WithoutChecksumStaysWithout) {
  FrameSpec s;
  s.protocol = kProtoUdp;
  s.udp_zero_checksum = true;
  s.payload = test::pattern(20);
  Bytes frame = test::build_frame(s);
  nat_rewrite_destination(frame, parsed(frame), test::ip("10.1.2.3"), 8053);
  EXPECT_EQ(test::get16(frame, 40), 0);
  EXPECT_EQ(test::get16(frame, 36), 8053);
  nat_rewrite_source(frame, parsed(frame), test::ip("10.9.9.9"), 53);
  EXPECT_EQ(test::get16(frame, 40), 0);
  FrameSpec want = s;
  want.dst = "10.1.2.3";
  want.dst_port = 8053;
  want.src = "10.9.9.9";
  want.src_port = 53;
  EXPECT_EQ(frame, test::build_frame(want));
}

TEST(NatRewrite, LaterFragmentChangesOnlyTheIpHeader) {
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6);
    FrameSpec s;
    if (v6) {
      s.src = "2001:db8::1";
      s.dst = "2001:db8::2";
      s.extensions = {test::fragment_header(10, false)};
    } else {
      s.fragment_offset = 10;
    }
    s.l4_header = false;
    s.payload = test::pattern(40);
    Bytes frame = test::build_frame(s);
    ParsedPacket p = parsed(frame);
    ASSERT_TRUE(p.is_later_fragment);
    FrameSpec want = s;
    want.dst = v6 ? "2001:db8::99" : "10.0.0.99";
    nat_rewrite_destination(frame, p, test::ip(want.dst), 1234);
    EXPECT_EQ(frame, test::build_frame(want));
  }
}

TEST(RewriteMacs, WritesBothAndNothingElse) {
  Bytes frame = test::build_frame(FrameSpec{});
  Bytes before = frame;
  rewrite_macs(frame, *MacAddress::parse("0a:0b:0c:0d:0e:0f"),
               *MacAddress::parse("01:02:03:04:05:06"));
  EXPECT_EQ(Bytes(frame.begin(), frame.begin() + 12),
            (Bytes{1, 2, 3, 4, 5, 6, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}));
  EXPECT_TRUE(std::equal(frame.begin() + 12, frame.end(), before.begin() + 12));
}

struct HopCase {
  const char* name;
  bool v6;
  uint8_t ttl;
  bool forwarded;
};

TEST(DecrementHopLimit, Table) {
  const HopCase cases[] = {
      {"ipv4 64", false, 64, true}, {"ipv4 255", false, 255, true}, {"ipv4 2", false, 2, true},
      {"ipv4 1", false, 1, false},  {"ipv4 0", false, 0, false},    {"ipv6 64", true, 64, true},
      {"ipv6 2", true, 2, true},    {"ipv6 1", true, 1, false},     {"ipv6 0", true, 0, false},
  };
  std::mt19937 rng(13);
  for (const HopCase& c : cases) {
    SCOPED_TRACE(c.name);
    for (int i = 0; i < 50; ++i) {
      FrameSpec s = random_spec(rng);
      while (test::is_v6(s) != c.v6) s = random_spec(rng);
      s.ttl = c.ttl;
      Bytes frame = test::build_frame(s);
      ParsedPacket p = parsed(frame);
      FrameSpec want = s;
      if (c.forwarded) want.ttl = static_cast<uint8_t>(c.ttl - 1);
      EXPECT_EQ(decrement_hop_limit(frame, p), c.forwarded);
      ASSERT_EQ(frame, test::build_frame(want));
    }
  }
}

// ---- ICMP errors about NAT flows ----

struct IcmpCase {
  std::string name;
  bool v6;
  uint8_t protocol;
  size_t quoted_l4;  // bytes of the original L4 header quoted
  bool udp_zero_checksum;
};

// The packet as the load balancer sent it to the client (source rewritten to the VIP), or as
// the back-end sent it.
FrameSpec sent_spec(const IcmpCase& c, const std::string& src, uint16_t src_port) {
  FrameSpec s;
  s.src = src;
  s.dst = c.v6 ? "2001:db8:77::5" : "203.0.113.77";
  s.protocol = c.protocol;
  s.src_port = src_port;
  s.dst_port = 50123;
  s.seq = 0x11223344;
  s.ack = 0x55667788;
  s.tcp_flags = kTcpAck;
  s.payload = test::pattern(1400);
  s.udp_zero_checksum = c.udp_zero_checksum;
  s.dont_fragment = true;
  return s;
}

Bytes quote_of(const FrameSpec& sent, size_t quoted_l4) {
  Bytes f = test::build_frame(sent);
  size_t ip_header = test::is_v6(sent) ? 40 : 20;
  return Bytes(f.begin() + 14, f.begin() + 14 + static_cast<std::ptrdiff_t>(ip_header + quoted_l4));
}

FrameSpec error_spec(const IcmpCase& c, const std::string& dst, Bytes quote) {
  FrameSpec s;
  s.src = c.v6 ? "2001:db8:fe::1" : "192.0.2.254";
  s.dst = dst;
  s.protocol = c.v6 ? kProtoIcmpv6 : kProtoIcmp;
  s.icmp_type = c.v6 ? 2 : 3;
  s.icmp_code = c.v6 ? 0 : 4;
  s.icmp_rest = c.v6 ? 1400 : 1400;
  s.payload = std::move(quote);
  return s;
}

TEST(NatRewriteIcmpError, OuterDestinationAndQuotedSourceBecomeTheBackend) {
  const IcmpCase cases[] = {
      {"v4 tcp, 8 bytes quoted (no tcp checksum)", false, kProtoTcp, 8, false},
      {"v4 tcp, whole header quoted", false, kProtoTcp, 20, false},
      {"v4 tcp, 100 bytes quoted", false, kProtoTcp, 100, false},
      {"v4 udp", false, kProtoUdp, 8, false},
      {"v4 udp without checksum", false, kProtoUdp, 8, true},
      {"v6 tcp, 8 bytes quoted", true, kProtoTcp, 8, false},
      {"v6 tcp, 18 bytes quoted (checksum is the last field)", true, kProtoTcp, 18, false},
      {"v6 tcp, 1000 bytes quoted", true, kProtoTcp, 1000, false},
      {"v6 udp", true, kProtoUdp, 8, false},
  };
  for (const IcmpCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string vip = c.v6 ? "2001:db8:1::10" : "198.18.0.10";
    const std::string backend = c.v6 ? "2001:db8:2::21" : "10.0.0.21";
    Bytes frame =
        test::build_frame(error_spec(c, vip, quote_of(sent_spec(c, vip, 443), c.quoted_l4)));
    ParsedPacket p = parsed(frame);
    QuotedPacket q;
    ASSERT_EQ(parse_icmp_quote(frame, p, q), DropReason::none);
    nat_rewrite_icmp_error(frame, p, q, test::ip(backend), 8443);
    Bytes want = test::build_frame(
        error_spec(c, backend, quote_of(sent_spec(c, backend, 8443), c.quoted_l4)));
    EXPECT_TRUE(frame == want) << test::frame_diff(frame, want);
  }
}

}  // namespace
}  // namespace fairway
