#include "packet/parse.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "frame_builder.h"

namespace fairway {
namespace {

using test::Bytes;
using test::FrameSpec;

// What parse_frame must report; ports, sequence numbers and addresses come from the spec.
struct Expected {
  L3Kind l3 = L3Kind::ipv4;
  uint16_t l4_offset = 0;
  uint16_t ip_end = 0;
  uint8_t protocol = 0;
  bool fragment = false;
  bool later_fragment = false;
  bool has_ports = false;
  uint16_t payload_length = 0;
  bool is_icmp = false;
};

struct ValidCase {
  std::string name;
  FrameSpec spec;
  Expected want;
};

FrameSpec spec_with(std::function<void(FrameSpec&)> change) {
  FrameSpec s;
  change(s);
  return s;
}

void make_v6(FrameSpec& s) {
  s.src = "2001:db8::7";
  s.dst = "2001:db8:1::10";
}

// A UDP datagram's first `keep` bytes, as the first fragment carries them.
Bytes udp_prefix(const FrameSpec& s, size_t keep) {
  Bytes whole = test::l4_bytes(s);
  whole.resize(keep);
  return whole;
}

std::vector<ValidCase> valid_cases() {
  std::vector<ValidCase> cases;
  cases.push_back({"tcp4 syn, padded to 60",
                   spec_with([](FrameSpec& s) { s.pad_to = 60; }),
                   {L3Kind::ipv4, 34, 54, kProtoTcp, false, false, true, 0}});
  cases.push_back({"tcp4 with options and data",
                   spec_with([](FrameSpec& s) {
                     s.tcp_flags = kTcpAck | kTcpPsh;
                     s.seq = 0xfedcba98;
                     s.ack = 0x01234567;
                     s.tcp_options = Bytes{2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 1, 1, 0};
                     s.payload = test::pattern(100);
                   }),
                   {L3Kind::ipv4, 34, 166, kProtoTcp, false, false, true, 100}});
  cases.push_back({"tcp4 with 8 bytes of IP options",
                   spec_with([](FrameSpec& s) {
                     s.ipv4_options = Bytes{1, 1, 1, 1, 1, 1, 1, 0};
                     s.payload = test::pattern(5);
                   }),
                   {L3Kind::ipv4, 42, 67, kProtoTcp, false, false, true, 5}});
  cases.push_back({"tcp4 with 40 bytes of IP options (IHL 15)",
                   spec_with([](FrameSpec& s) { s.ipv4_options = Bytes(40, 1); }),
                   {L3Kind::ipv4, 74, 94, kProtoTcp, false, false, true, 0}});
  cases.push_back({"udp4 odd payload",
                   spec_with([](FrameSpec& s) {
                     s.protocol = kProtoUdp;
                     s.dst_port = 53;
                     s.payload = test::pattern(33);
                   }),
                   {L3Kind::ipv4, 34, 75, kProtoUdp, false, false, true, 33}});
  cases.push_back({"udp4 without checksum, empty",
                   spec_with([](FrameSpec& s) {
                     s.protocol = kProtoUdp;
                     s.udp_zero_checksum = true;
                     s.pad_to = 60;
                   }),
                   {L3Kind::ipv4, 34, 42, kProtoUdp, false, false, true, 0}});
  cases.push_back({"icmp4 echo request",
                   spec_with([](FrameSpec& s) {
                     s.protocol = kProtoIcmp;
                     s.icmp_rest = 0x00420007;
                     s.payload = test::pattern(56);
                   }),
                   {L3Kind::ipv4, 34, 98, kProtoIcmp, false, false, false, 0, true}});
  cases.push_back({"icmp4 destination unreachable",
                   spec_with([](FrameSpec& s) {
                     s.protocol = kProtoIcmp;
                     s.icmp_type = 3;
                     s.icmp_code = 4;
                     s.payload = test::pattern(28);
                   }),
                   {L3Kind::ipv4, 34, 70, kProtoIcmp, false, false, false, 0, true}});
  cases.push_back({"gre4: other protocol, no ports",
                   spec_with([](FrameSpec& s) {
                     s.protocol = 47;
                     s.payload = test::pattern(4);
                   }),
                   {L3Kind::ipv4, 34, 38, 47, false, false, false, 0}});
  cases.push_back({"tcp4 first fragment",
                   spec_with([](FrameSpec& s) {
                     s.more_fragments = true;
                     s.payload = test::pattern(64);
                   }),
                   {L3Kind::ipv4, 34, 118, kProtoTcp, true, false, true, 64}});
  cases.push_back({"udp4 first fragment, length beyond it",
                   spec_with([](FrameSpec& s) {
                     s.protocol = kProtoUdp;
                     s.more_fragments = true;
                     s.payload = test::pattern(200);
                     s.payload = udp_prefix(s, 48);
                     s.l4_header = false;
                   }),
                   {L3Kind::ipv4, 34, 82, kProtoUdp, true, false, true, 40}});
  cases.push_back({"tcp4 later fragment, DF clear",
                   spec_with([](FrameSpec& s) {
                     s.fragment_offset = 185;
                     s.l4_header = false;
                     s.payload = test::pattern(3);
                   }),
                   {L3Kind::ipv4, 34, 37, kProtoTcp, true, true, false, 0}});
  cases.push_back({"tcp4 last fragment with DF bit",
                   spec_with([](FrameSpec& s) {
                     s.dont_fragment = true;
                     s.fragment_offset = 1;
                     s.l4_header = false;
                     s.payload = test::pattern(8);
                   }),
                   {L3Kind::ipv4, 34, 42, kProtoTcp, true, true, false, 0}});
  cases.push_back(
      {"tcp6 syn", spec_with(make_v6), {L3Kind::ipv6, 54, 74, kProtoTcp, false, false, true, 0}});
  cases.push_back({"tcp6 padded beyond the datagram",
                   spec_with([](FrameSpec& s) {
                     make_v6(s);
                     s.pad_to = 100;
                   }),
                   {L3Kind::ipv6, 54, 74, kProtoTcp, false, false, true, 0}});
  cases.push_back({"udp6",
                   spec_with([](FrameSpec& s) {
                     make_v6(s);
                     s.protocol = kProtoUdp;
                     s.payload = test::pattern(17);
                   }),
                   {L3Kind::ipv6, 54, 79, kProtoUdp, false, false, true, 17}});
  cases.push_back({"icmp6 echo request",
                   spec_with([](FrameSpec& s) {
                     make_v6(s);
                     s.protocol = kProtoIcmpv6;
                     s.icmp_type = 128;
                     s.payload = test::pattern(10);
                   }),
                   {L3Kind::ipv6, 54, 72, kProtoIcmpv6, false, false, false, 0, true}});
  cases.push_back({"icmp6 packet too big",
                   spec_with([](FrameSpec& s) {
                     make_v6(s);
                     s.protocol = kProtoIcmpv6;
                     s.icmp_type = 2;
                     s.icmp_rest = 1280;
                     s.payload = test::pattern(48);
                   }),
                   {L3Kind::ipv6, 54, 110, kProtoIcmpv6, false, false, false, 0, true}});
  cases.push_back({"icmp4 type over ipv6 is just a protocol",
                   spec_with([](FrameSpec& s) {
                     make_v6(s);
                     s.protocol = kProtoIcmp;
                     s.l4_header = false;
                     s.payload = test::pattern(2);
                   }),
                   {L3Kind::ipv6, 54, 56, kProtoIcmp, false, false, false, 0}});
  struct Ext {
    const char* name;
    std::vector<test::Extension> chain;
    uint16_t length;
  };
  for (const Ext& e : std::vector<Ext>{
           {"hop-by-hop", {test::hop_by_hop()}, 8},
           {"hop-by-hop, 3 units", {test::hop_by_hop(3)}, 32},
           {"routing", {test::routing_header()}, 8},
           {"destination options", {test::destination_options(1)}, 16},
           {"authentication", {test::authentication_header()}, 16},
           {"atomic fragment", {test::fragment_header(0, false)}, 8},
           {"hop-by-hop, routing, fragment, AH, destination options",
            {test::hop_by_hop(), test::routing_header(), test::fragment_header(0, false),
             test::authentication_header(), test::destination_options()},
            48},
       }) {
    cases.push_back({std::string("tcp6 with ") + e.name,
                     spec_with([&](FrameSpec& s) {
                       make_v6(s);
                       s.extensions = e.chain;
                       s.payload = test::pattern(9);
                     }),
                     {L3Kind::ipv6, uint16_t(54 + e.length), uint16_t(54 + e.length + 29),
                      kProtoTcp, false, false, true, 9}});
  }
  cases.push_back({"udp6 first fragment",
                   spec_with([](FrameSpec& s) {
                     make_v6(s);
                     s.protocol = kProtoUdp;
                     s.extensions = {test::fragment_header(0, true)};
                     s.payload = test::pattern(300);
                     s.payload = udp_prefix(s, 16);
                     s.l4_header = false;
                   }),
                   {L3Kind::ipv6, 62, 78, kProtoUdp, true, false, true, 8}});
  cases.push_back({"udp6 later fragment",
                   spec_with([](FrameSpec& s) {
                     make_v6(s);
                     s.protocol = kProtoUdp;
                     s.extensions = {test::destination_options(), test::fragment_header(1, true)};
                     s.l4_header = false;
                     s.payload = test::pattern(5);
                   }),
                   {L3Kind::ipv6, 70, 75, kProtoUdp, true, true, false, 0}});
  cases.push_back({"ipv6 no next header",
                   spec_with([](FrameSpec& s) {
                     make_v6(s);
                     s.protocol = 59;
                     s.l4_header = false;
                   }),
                   {L3Kind::ipv6, 54, 54, 59, false, false, false, 0}});
  return cases;
}

Bytes exact_copy(const Bytes& frame, size_t length) {
  // A buffer of exactly `length` bytes, so that ASan catches any read past it.
  return Bytes(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(length));
}

TEST(ParseFrame, ValidFramesReportEveryField) {
  for (const ValidCase& c : valid_cases()) {
    SCOPED_TRACE(c.name);
    Bytes frame = test::build_frame(c.spec);
    ParsedPacket p;
    ASSERT_EQ(parse_frame(frame, p), DropReason::none);
    const FrameSpec& s = c.spec;
    EXPECT_EQ(p.l3, c.want.l3);
    EXPECT_EQ(p.ethertype, c.want.l3 == L3Kind::ipv4 ? kEtherTypeIpv4 : kEtherTypeIpv6);
    EXPECT_EQ(p.l3_offset, 14);
    EXPECT_EQ(p.l4_offset, c.want.l4_offset);
    EXPECT_EQ(p.ip_end, c.want.ip_end);
    EXPECT_EQ(p.l4_protocol, c.want.protocol);
    EXPECT_EQ(p.hop_limit, s.ttl);
    EXPECT_EQ(p.is_fragment, c.want.fragment);
    EXPECT_EQ(p.is_later_fragment, c.want.later_fragment);
    EXPECT_EQ(p.src, test::ip(s.src));
    EXPECT_EQ(p.dst, test::ip(s.dst));
    EXPECT_EQ(p.src_port, c.want.has_ports ? s.src_port : 0);
    EXPECT_EQ(p.dst_port, c.want.has_ports ? s.dst_port : 0);
    bool tcp = c.want.has_ports && s.protocol == kProtoTcp;
    EXPECT_EQ(p.tcp_flags, tcp ? s.tcp_flags : 0);
    EXPECT_EQ(p.tcp_seq, tcp ? s.seq : 0u);
    EXPECT_EQ(p.tcp_ack, tcp ? s.ack : 0u);
    EXPECT_EQ(p.l4_payload_length, c.want.payload_length);
    EXPECT_EQ(p.icmp_type, c.want.is_icmp ? s.icmp_type : 0);
    EXPECT_EQ(p.icmp_code, c.want.is_icmp ? s.icmp_code : 0);
  }
}

TEST(ParseFrame, EveryTruncationIsDroppedAndPaddingIsNot) {
  for (const ValidCase& c : valid_cases()) {
    SCOPED_TRACE(c.name);
    Bytes frame = test::build_frame(c.spec);
    for (size_t length = 0; length < frame.size(); ++length) {
      SCOPED_TRACE(length);
      Bytes prefix = exact_copy(frame, length);
      ParsedPacket p;
      DropReason r = parse_frame(prefix, p);
      if (length < c.want.ip_end) {
        EXPECT_NE(r, DropReason::none);
      } else {
        EXPECT_EQ(r, DropReason::none);
        EXPECT_EQ(p.ip_end, c.want.ip_end);
      }
    }
  }
}

TEST(ParseFrame, NonIpEthertypes) {
  struct Case {
    const char* name;
    uint16_t ethertype;
    L3Kind l3;
  };
  for (const Case& c :
       {Case{"arp", kEtherTypeArp, L3Kind::arp}, Case{"vlan tag", 0x8100, L3Kind::other},
        Case{"qinq tag", 0x88a8, L3Kind::other}, Case{"lldp", 0x88cc, L3Kind::other}}) {
    SCOPED_TRACE(c.name);
    FrameSpec s;
    s.ethertype = c.ethertype;
    Bytes frame = test::build_frame(s);
    ParsedPacket p;
    EXPECT_EQ(parse_frame(frame, p), DropReason::none);
    EXPECT_EQ(p.l3, c.l3);
    EXPECT_EQ(p.ethertype, c.ethertype);
    EXPECT_EQ(p.l4_offset, 0);
    EXPECT_EQ(p.ip_end, 0);
    Bytes header_only = exact_copy(frame, 14);
    EXPECT_EQ(parse_frame(header_only, p), DropReason::none);
    EXPECT_EQ(p.l3, c.l3);
  }
}

void fix_ipv4_checksum(Bytes& f) {
  size_t header_length = size_t(f[14] & 0xf) * 4;
  test::put16(f, 24, 0);
  Bytes header(
      f.begin() + 14,
      f.begin() + 14 + static_cast<std::ptrdiff_t>(std::min(header_length, f.size() - 14)));
  test::put16(f, 24, test::reference_checksum(header));
}

struct MalformedCase {
  std::string name;
  Bytes frame;
  DropReason want;
};

Bytes mutated(const FrameSpec& s, std::function<void(Bytes&)> change, bool fix_checksum = true) {
  Bytes f = test::build_frame(s);
  change(f);
  if (fix_checksum && !test::is_v6(s) && f.size() >= 34) fix_ipv4_checksum(f);
  return f;
}

FrameSpec v6_spec(std::function<void(FrameSpec&)> change = [](FrameSpec&) {}) {
  FrameSpec s;
  make_v6(s);
  change(s);
  return s;
}

FrameSpec udp4_spec() {
  FrameSpec s;
  s.protocol = kProtoUdp;
  s.payload = test::pattern(20);
  return s;
}

std::vector<MalformedCase> malformed_cases() {
  const FrameSpec tcp4;
  const FrameSpec udp4 = udp4_spec();
  std::vector<MalformedCase> m;
  m.push_back({"13-byte frame", Bytes(13, 0), DropReason::truncated_ethernet});
  m.push_back({"ipv4 header of 19 bytes",
               mutated(
                   tcp4, [](Bytes& f) { f.resize(33); }, false),
               DropReason::truncated_ipv4});
  m.push_back({"ipv4 version 5", mutated(tcp4, [](Bytes& f) { f[14] = 0x55; }),
               DropReason::bad_ipv4_version});
  m.push_back({"ipv4 version 6 in an ipv4 ethertype", mutated(tcp4, [](Bytes& f) { f[14] = 0x65; }),
               DropReason::bad_ipv4_version});
  m.push_back({"ipv4 IHL 4", mutated(tcp4, [](Bytes& f) { f[14] = 0x44; }),
               DropReason::bad_ipv4_header_length});
  m.push_back({"ipv4 IHL 0", mutated(tcp4, [](Bytes& f) { f[14] = 0x40; }),
               DropReason::bad_ipv4_header_length});
  m.push_back({"ipv4 IHL 15 beyond total length", mutated(tcp4, [](Bytes& f) { f[14] = 0x4f; }),
               DropReason::bad_ipv4_header_length});
  m.push_back({"ipv4 IHL 6 within total length leaves 16 bytes of tcp",
               mutated(tcp4, [](Bytes& f) { f[14] = 0x46; }), DropReason::truncated_tcp});
  m.push_back({"ipv4 total length 19", mutated(tcp4, [](Bytes& f) { test::put16(f, 16, 19); }),
               DropReason::bad_ipv4_total_length});
  m.push_back({"ipv4 total length 0", mutated(tcp4, [](Bytes& f) { test::put16(f, 16, 0); }),
               DropReason::bad_ipv4_total_length});
  m.push_back({"ipv4 total length one past the frame",
               mutated(tcp4, [](Bytes& f) { test::put16(f, 16, 41); }),
               DropReason::bad_ipv4_total_length});
  m.push_back({"ipv4 total length 65535",
               mutated(tcp4, [](Bytes& f) { test::put16(f, 16, 65535); }),
               DropReason::bad_ipv4_total_length});
  m.push_back({"ipv4 checksum off by one",
               mutated(
                   tcp4, [](Bytes& f) { f[25] = static_cast<uint8_t>(f[25] + 1); }, false),
               DropReason::bad_ipv4_checksum});
  m.push_back({"ipv4 source changed after checksum",
               mutated(
                   tcp4, [](Bytes& f) { f[26] ^= 1; }, false),
               DropReason::bad_ipv4_checksum});
  m.push_back({"ipv4 option byte changed after checksum",
               mutated(
                   spec_with([](FrameSpec& s) {
                     s.ipv4_options = Bytes{1, 1, 1, 0};
                   }),
                   [](Bytes& f) { f[35] = 7; }, false),
               DropReason::bad_ipv4_checksum});
  m.push_back({"tcp data offset 4", mutated(tcp4, [](Bytes& f) { f[46] = 0x40; }),
               DropReason::bad_tcp_data_offset});
  m.push_back({"tcp data offset 0", mutated(tcp4, [](Bytes& f) { f[46] = 0x00; }),
               DropReason::bad_tcp_data_offset});
  m.push_back({"tcp data offset 6 past the segment", mutated(tcp4, [](Bytes& f) { f[46] = 0x60; }),
               DropReason::bad_tcp_data_offset});
  m.push_back({"tcp data offset 15", mutated(tcp4, [](Bytes& f) { f[46] = 0xf0; }),
               DropReason::bad_tcp_data_offset});
  m.push_back({"tcp header of 19 bytes", test::build_frame(spec_with([](FrameSpec& s) {
                 s.l4_header = false;
                 s.payload = test::pattern(19);
               })),
               DropReason::truncated_tcp});
  m.push_back({"tcp header cut by total length, frame padded",
               mutated(tcp4, [](Bytes& f) { test::put16(f, 16, 30); }), DropReason::truncated_tcp});
  m.push_back({"udp header of 7 bytes", test::build_frame(spec_with([](FrameSpec& s) {
                 s.protocol = kProtoUdp;
                 s.l4_header = false;
                 s.payload = test::pattern(7);
               })),
               DropReason::truncated_udp});
  m.push_back({"udp length one more", mutated(udp4, [](Bytes& f) { test::put16(f, 38, 29); }),
               DropReason::bad_udp_length});
  m.push_back({"udp length one less", mutated(udp4, [](Bytes& f) { test::put16(f, 38, 27); }),
               DropReason::bad_udp_length});
  m.push_back({"udp length 7", mutated(udp4, [](Bytes& f) { test::put16(f, 38, 7); }),
               DropReason::bad_udp_length});
  m.push_back({"udp length 0 (jumbogram form)",
               mutated(udp4, [](Bytes& f) { test::put16(f, 38, 0); }), DropReason::bad_udp_length});
  m.push_back({"udp6 length mismatch",
               mutated(v6_spec([](FrameSpec& s) {
                         s.protocol = kProtoUdp;
                         s.payload = test::pattern(4);
                       }),
                       [](Bytes& f) { test::put16(f, 58, 11); }),
               DropReason::bad_udp_length});
  m.push_back({"udp first fragment longer than its length field",
               test::build_frame(spec_with([](FrameSpec& s) {
                 s.protocol = kProtoUdp;
                 s.more_fragments = true;
                 s.payload = test::pattern(8);
                 s.payload = udp_prefix(s, 16);
                 s.payload[5] = 8;  // length 8 < 16 bytes present
                 s.l4_header = false;
               })),
               DropReason::bad_udp_length});
  m.push_back({"icmp of 3 bytes", test::build_frame(spec_with([](FrameSpec& s) {
                 s.protocol = kProtoIcmp;
                 s.l4_header = false;
                 s.payload = Bytes{3, 3, 0};
               })),
               DropReason::truncated_icmp});
  m.push_back({"icmp echo of 7 bytes", test::build_frame(spec_with([](FrameSpec& s) {
                 s.protocol = kProtoIcmp;
                 s.l4_header = false;
                 s.payload = Bytes{8, 0, 0, 0, 0, 0, 0};
               })),
               DropReason::truncated_icmp});
  m.push_back({"icmp6 echo reply of 6 bytes", test::build_frame(v6_spec([](FrameSpec& s) {
                 s.protocol = kProtoIcmpv6;
                 s.l4_header = false;
                 s.payload = Bytes{129, 0, 0, 0, 0, 0};
               })),
               DropReason::truncated_icmp});
  m.push_back({"ipv6 header of 39 bytes", mutated(v6_spec(), [](Bytes& f) { f.resize(53); }),
               DropReason::truncated_ipv6});
  m.push_back({"ipv6 version 4", mutated(v6_spec(), [](Bytes& f) { f[14] = 0x40; }),
               DropReason::bad_ipv6_version});
  m.push_back({"ipv6 payload length one past the frame",
               mutated(v6_spec(), [](Bytes& f) { test::put16(f, 18, 21); }),
               DropReason::bad_ipv6_payload_length});
  m.push_back({"ipv6 payload length cuts tcp",
               mutated(v6_spec(), [](Bytes& f) { test::put16(f, 18, 12); }),
               DropReason::truncated_tcp});
  m.push_back({"hop-by-hop length past the end",
               mutated(v6_spec([](FrameSpec& s) { s.extensions = {test::hop_by_hop()}; }),
                       [](Bytes& f) { f[55] = 3; }),
               DropReason::bad_ipv6_extension_header});
  m.push_back({"destination options length 255",
               mutated(v6_spec([](FrameSpec& s) { s.extensions = {test::destination_options()}; }),
                       [](Bytes& f) { f[55] = 255; }),
               DropReason::bad_ipv6_extension_header});
  m.push_back(
      {"AH length past the end",
       mutated(v6_spec([](FrameSpec& s) { s.extensions = {test::authentication_header()}; }),
               [](Bytes& f) { f[55] = 20; }),
       DropReason::bad_ipv6_extension_header});
  m.push_back({"extension header with 1 byte left", test::build_frame(v6_spec([](FrameSpec& s) {
                 s.protocol = 60;
                 s.l4_header = false;
                 s.payload = Bytes{6};
               })),
               DropReason::bad_ipv6_extension_header});
  m.push_back({"fragment header with 7 bytes left", test::build_frame(v6_spec([](FrameSpec& s) {
                 s.protocol = 44;
                 s.l4_header = false;
                 s.payload = Bytes{6, 0, 0, 0, 0, 0, 0};
               })),
               DropReason::bad_ipv6_extension_header});
  m.push_back({"extension chain ends where the payload length says",
               mutated(v6_spec([](FrameSpec& s) {
                         s.extensions = {test::destination_options(), test::routing_header()};
                       }),
                       [](Bytes& f) { test::put16(f, 18, 12); }),
               DropReason::bad_ipv6_extension_header});
  m.push_back({"hop-by-hop after another header", test::build_frame(v6_spec([](FrameSpec& s) {
                 s.extensions = {test::destination_options(), test::hop_by_hop()};
               })),
               DropReason::bad_ipv6_extension_header});
  m.push_back({"nine extension headers", test::build_frame(v6_spec([](FrameSpec& s) {
                 s.extensions.assign(9, test::destination_options());
               })),
               DropReason::bad_ipv6_extension_header});
  return m;
}

TEST(ParseFrame, MalformedFramesAreDroppedWithTheirReason) {
  for (const MalformedCase& c : malformed_cases()) {
    SCOPED_TRACE(c.name);
    Bytes frame = c.frame;
    ParsedPacket p;
    EXPECT_EQ(drop_reason_name(parse_frame(frame, p)), drop_reason_name(c.want));
  }
}

TEST(ParseFrame, EightExtensionHeadersAreAccepted) {
  FrameSpec s = v6_spec([](FrameSpec& s) { s.extensions.assign(8, test::destination_options()); });
  Bytes frame = test::build_frame(s);
  ParsedPacket p;
  ASSERT_EQ(parse_frame(frame, p), DropReason::none);
  EXPECT_EQ(p.l4_offset, 54 + 64);
  EXPECT_EQ(p.dst_port, 80);
}

TEST(ParseFrame, HostileBytesNeverCrashAndSuccessKeepsOffsetsInside) {
  std::mt19937 rng(12345);
  std::vector<Bytes> seeds;
  for (const ValidCase& c : valid_cases()) seeds.push_back(test::build_frame(c.spec));
  for (int i = 0; i < 50000; ++i) {
    Bytes f = seeds[rng() % seeds.size()];
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) f[rng() % f.size()] = static_cast<uint8_t>(rng());
    f.resize(rng() % (f.size() + 1));
    ParsedPacket p;
    if (parse_frame(f, p) != DropReason::none) continue;
    if (p.l3 != L3Kind::ipv4 && p.l3 != L3Kind::ipv6) continue;
    ASSERT_LE(p.l3_offset, p.l4_offset);
    ASSERT_LE(p.l4_offset, p.ip_end);
    ASSERT_LE(p.ip_end, f.size());
    QuotedPacket q;
    if (is_icmp_error(p) && parse_icmp_quote(f, p, q) == DropReason::none) {
      ASSERT_LE(q.l3_offset, q.l4_offset);
      ASSERT_LE(q.l4_offset + 8u, q.end);
      ASSERT_LE(q.end, f.size());
    }
  }
}

// parse_frame's fast path (IPv4 without options, TCP/UDP) must answer exactly as the general
// parser: valid frames of every kind, every truncation, malformed frames, mutated bytes.
TEST(ParseFrame, FastPathAgreesWithTheGeneralParser) {
  std::vector<Bytes> frames;
  for (const ValidCase& c : valid_cases()) {
    Bytes frame = test::build_frame(c.spec);
    for (size_t length = 0; length <= frame.size(); ++length) {
      frames.push_back(exact_copy(frame, length));
    }
  }
  for (const MalformedCase& c : malformed_cases()) frames.push_back(c.frame);
  std::mt19937 rng(54321);
  const size_t seeds = frames.size();
  for (int i = 0; i < 50000; ++i) {
    Bytes f = frames[rng() % seeds];
    if (f.empty()) continue;
    f[rng() % f.size()] = static_cast<uint8_t>(rng());
    frames.push_back(std::move(f));
  }
  size_t accepted = 0;
  for (const Bytes& f : frames) {
    ParsedPacket fast;
    ParsedPacket general;
    DropReason r = parse_frame(f, fast);
    ASSERT_EQ(r, parse_frame_general(f, general));
    ASSERT_TRUE(fast == general);
    // The NIC's verdict that the IPv4 checksum is right (given only when it is) changes nothing:
    // every frame but those with a wrong checksum parses the same with it.
    if (r != DropReason::bad_ipv4_checksum) {
      ParsedPacket verdict;
      ASSERT_EQ(parse_frame(f, verdict, true), r);
      ASSERT_TRUE(verdict == fast);
    }
    accepted += r == DropReason::none;
  }
  EXPECT_GT(accepted, seeds / 4);
}

TEST(ParseFrame, OversizedFrameIsHandled) {
  FrameSpec s;
  s.payload = test::pattern(1000);
  Bytes frame = test::build_frame(s);
  frame.resize(70000, 0);  // trailing garbage beyond 16-bit offsets
  ParsedPacket p;
  EXPECT_EQ(parse_frame(frame, p), DropReason::none);
  EXPECT_EQ(p.ip_end, 14 + 20 + 20 + 1000);
}

// ---- ICMP errors and their quotes ----

// The packet the load balancer sent, as quoted back to it.
FrameSpec original_spec(bool v6, uint8_t protocol) {
  FrameSpec s;
  s.src = v6 ? "2001:db8:1::10" : "198.18.0.10";
  s.dst = v6 ? "2001:db8::7" : "198.51.100.7";
  s.protocol = protocol;
  s.src_port = 443;
  s.dst_port = 51000;
  s.payload = test::pattern(300);
  return s;
}

// The IP datagram of `original`, cut to its first `keep` bytes.
Bytes quoted_bytes(const FrameSpec& original, size_t keep) {
  Bytes f = test::build_frame(original);
  Bytes ip(f.begin() + 14, f.end());
  ip.resize(std::min(keep, ip.size()));
  return ip;
}

FrameSpec icmp_error_spec(bool v6, uint8_t type, uint8_t code, Bytes quote) {
  FrameSpec s;
  s.src = v6 ? "2001:db8:99::1" : "203.0.113.1";
  s.dst = v6 ? "2001:db8:1::10" : "198.18.0.10";
  s.protocol = v6 ? kProtoIcmpv6 : kProtoIcmp;
  s.icmp_type = type;
  s.icmp_code = code;
  s.payload = std::move(quote);
  return s;
}

TEST(IcmpError, TypesThatQuoteAPacket) {
  for (int type = 0; type < 256; ++type) {
    ParsedPacket p;
    p.icmp_type = static_cast<uint8_t>(type);
    p.l3 = L3Kind::ipv4;
    p.l4_protocol = kProtoIcmp;
    EXPECT_EQ(is_icmp_error(p), type == 3 || type == 11 || type == 12) << type;
    p.l3 = L3Kind::ipv6;
    EXPECT_FALSE(is_icmp_error(p)) << "ICMPv4 inside IPv6, type " << type;
    p.l4_protocol = kProtoIcmpv6;
    EXPECT_EQ(is_icmp_error(p), type >= 1 && type <= 4) << type;
    p.is_later_fragment = true;
    EXPECT_FALSE(is_icmp_error(p)) << type;
  }
}

struct QuoteCase {
  std::string name;
  bool v6;
  uint8_t type;
  uint8_t code;
  FrameSpec original;
  size_t keep;  // bytes of the original datagram quoted
  uint16_t quoted_header_length;
};

std::vector<QuoteCase> quote_cases() {
  std::vector<QuoteCase> cases;
  cases.push_back({"port unreachable quoting udp, 8 bytes", false, 3, 3,
                   original_spec(false, kProtoUdp), 28, 20});
  cases.push_back({"fragmentation needed quoting tcp, whole header", false, 3, 4,
                   original_spec(false, kProtoTcp), 40, 20});
  FrameSpec with_options = original_spec(false, kProtoTcp);
  with_options.ipv4_options = Bytes{1, 1, 1, 0};
  cases.push_back(
      {"time exceeded quoting tcp with IP options", false, 11, 0, with_options, 32, 24});
  cases.push_back({"parameter problem quoting all of it", false, 12, 0,
                   original_spec(false, kProtoTcp), 340, 20});
  FrameSpec echo = original_spec(false, kProtoIcmp);
  cases.push_back({"host unreachable quoting an echo: no ports", false, 3, 1, echo, 28, 20});
  for (uint8_t type = 1; type <= 4; ++type) {
    cases.push_back({"icmp6 type " + std::to_string(type) + " quoting tcp", true, type, 0,
                     original_spec(true, kProtoTcp), 60, 40});
  }
  FrameSpec with_ext = original_spec(true, kProtoUdp);
  with_ext.extensions = {test::destination_options(), test::fragment_header(0, true)};
  cases.push_back({"packet too big quoting a first udp fragment with extension headers", true, 2, 0,
                   with_ext, 72, 56});
  return cases;
}

TEST(IcmpQuote, QuotedAddressesAndPorts) {
  for (const QuoteCase& c : quote_cases()) {
    SCOPED_TRACE(c.name);
    Bytes frame =
        test::build_frame(icmp_error_spec(c.v6, c.type, c.code, quoted_bytes(c.original, c.keep)));
    ParsedPacket p;
    ASSERT_EQ(parse_frame(frame, p), DropReason::none);
    ASSERT_TRUE(is_icmp_error(p));
    QuotedPacket q;
    ASSERT_EQ(parse_icmp_quote(frame, p, q), DropReason::none);
    uint16_t quote_start = p.l4_offset + 8;
    EXPECT_EQ(q.l3_offset, quote_start);
    EXPECT_EQ(q.l4_offset, quote_start + c.quoted_header_length);
    EXPECT_EQ(q.end, quote_start + c.keep);
    EXPECT_EQ(q.end, p.ip_end);
    EXPECT_EQ(q.l4_protocol, c.original.protocol);
    EXPECT_EQ(q.src, test::ip(c.original.src));
    EXPECT_EQ(q.dst, test::ip(c.original.dst));
    bool ports = c.original.protocol == kProtoTcp || c.original.protocol == kProtoUdp;
    EXPECT_EQ(q.src_port, ports ? c.original.src_port : 0);
    EXPECT_EQ(q.dst_port, ports ? c.original.dst_port : 0);
  }
}

TEST(IcmpQuote, EveryShorterQuoteIsRejected) {
  for (const QuoteCase& c : quote_cases()) {
    SCOPED_TRACE(c.name);
    size_t needed = c.quoted_header_length + 8u;
    for (size_t keep = 0; keep < needed; ++keep) {
      SCOPED_TRACE(keep);
      Bytes frame =
          test::build_frame(icmp_error_spec(c.v6, c.type, c.code, quoted_bytes(c.original, keep)));
      ParsedPacket p;
      ASSERT_EQ(parse_frame(frame, p), DropReason::none);
      QuotedPacket q;
      EXPECT_EQ(parse_icmp_quote(frame, p, q), DropReason::bad_icmp_quote);
    }
  }
}

TEST(IcmpQuote, ErrorWithoutRoomForTheQuoteHeader) {
  FrameSpec s = icmp_error_spec(false, 3, 3, {});
  s.l4_header = false;
  s.payload = Bytes{3, 3, 0, 0, 0, 0};  // 6 bytes: the 8-byte error header is cut
  Bytes frame = test::build_frame(s);
  ParsedPacket p;
  ASSERT_EQ(parse_frame(frame, p), DropReason::none);
  QuotedPacket q;
  EXPECT_EQ(parse_icmp_quote(frame, p, q), DropReason::bad_icmp_quote);
}

TEST(IcmpQuote, MalformedQuotes) {
  struct Case {
    std::string name;
    bool v6;
    std::function<void(Bytes&)> change;  // applied to the quoted datagram
  };
  std::vector<Case> cases = {
      {"quoted ipv4 version 6", false, [](Bytes& q) { q[0] = 0x65; }},
      {"quoted IHL 4", false, [](Bytes& q) { q[0] = 0x44; }},
      {"quoted IHL past the quote", false, [](Bytes& q) { q[0] = 0x47; }},
      {"quoted later fragment", false, [](Bytes& q) { test::put16(q, 6, 0x2001); }},
      {"quoted ipv6 version 4", true, [](Bytes& q) { q[0] = 0x45; }},
      {"quoted extension header past the quote", true, [](Bytes& q) { q[6] = 60; }},
      {"quoted ipv6 later fragment", true,
       [](Bytes& q) {
         q[6] = 44;
         test::put16(q, 42, 0x0100);
       }},
      {"echo request is no error", false, [](Bytes&) {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Bytes quote = quoted_bytes(original_spec(c.v6, kProtoTcp), c.v6 ? 48 : 28);
    c.change(quote);
    FrameSpec s = icmp_error_spec(c.v6, c.name.starts_with("echo") ? 8 : (c.v6 ? 1 : 3), 0, quote);
    Bytes frame = test::build_frame(s);
    ParsedPacket p;
    ASSERT_EQ(parse_frame(frame, p), DropReason::none);
    QuotedPacket q;
    EXPECT_EQ(parse_icmp_quote(frame, p, q), DropReason::bad_icmp_quote);
  }
}

TEST(IcmpQuote, QuotedTotalLengthAndChecksumAreNotJudged) {
  Bytes quote = quoted_bytes(original_spec(false, kProtoUdp), 28);
  test::put16(quote, 2, 1500);
  quote[10] ^= 0xff;
  Bytes frame = test::build_frame(icmp_error_spec(false, 3, 3, quote));
  ParsedPacket p;
  ASSERT_EQ(parse_frame(frame, p), DropReason::none);
  QuotedPacket q;
  EXPECT_EQ(parse_icmp_quote(frame, p, q), DropReason::none);
  EXPECT_EQ(q.src_port, 443);
}

}  // namespace
}  // namespace fairway
