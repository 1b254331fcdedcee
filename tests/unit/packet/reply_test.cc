#include "packet/reply.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "frame_builder.h"

namespace fairway {
namespace {

using test::Bytes;
using test::FrameSpec;

// The received frame in a buffer with `room` extra writable bytes, as an mbuf has.
struct Received {
  Bytes buffer;
  size_t frame_length;
  ParsedPacket p;
};

Received receive(const FrameSpec& s, size_t room = 0) {
  Received r;
  r.buffer = test::build_frame(s);
  r.frame_length = r.buffer.size();
  EXPECT_EQ(parse_frame(r.buffer, r.p), DropReason::none);
  r.buffer.resize(r.frame_length + room, 0xee);
  return r;
}

Bytes reply_bytes(const Received& r, size_t length) {
  return Bytes(r.buffer.begin(), r.buffer.begin() + static_cast<std::ptrdiff_t>(length));
}

// The common shape of every reply: back to the sender, fresh header, TTL 64, DF, ID 0.
FrameSpec reply_to(const FrameSpec& in) {
  FrameSpec out;
  out.src_mac = in.dst_mac;
  out.dst_mac = in.src_mac;
  out.src = in.dst;
  out.dst = in.src;
  out.ttl = 64;
  out.ip_id = 0;
  out.dont_fragment = !test::is_v6(in);
  return out;
}

void make_v6(FrameSpec& s) {
  s.src = "2001:db8::7";
  s.dst = "2001:db8:1::10";
}

FrameSpec spec_with(std::function<void(FrameSpec&)> change) {
  FrameSpec s;
  s.tos = 0x28;
  s.ttl = 57;
  change(s);
  return s;
}

// ---- TCP reset ----

struct ResetCase {
  std::string name;
  FrameSpec in;
  uint32_t seq;  // expected in the reset
  uint32_t ack;
  uint8_t flags;
};

std::vector<ResetCase> reset_cases() {
  std::vector<ResetCase> c;
  c.push_back({"syn", spec_with([](FrameSpec& s) { s.seq = 1000; }), 0, 1001, kTcpRst | kTcpAck});
  c.push_back({"syn with data", spec_with([](FrameSpec& s) {
                 s.seq = 1000;
                 s.payload = test::pattern(10);
               }),
               0, 1011, kTcpRst | kTcpAck});
  c.push_back({"syn at the end of sequence space",
               spec_with([](FrameSpec& s) { s.seq = 0xffffffff; }), 0, 0, kTcpRst | kTcpAck});
  c.push_back({"ack with data", spec_with([](FrameSpec& s) {
                 s.tcp_flags = kTcpAck | kTcpPsh;
                 s.seq = 5;
                 s.ack = 0x9abcdef0;
                 s.payload = test::pattern(100);
               }),
               0x9abcdef0, 0, kTcpRst});
  c.push_back({"fin ack", spec_with([](FrameSpec& s) {
                 s.tcp_flags = kTcpFin | kTcpAck;
                 s.seq = 77;
                 s.ack = 88;
               }),
               88, 0, kTcpRst});
  c.push_back({"syn ack", spec_with([](FrameSpec& s) {
                 s.tcp_flags = kTcpSyn | kTcpAck;
                 s.ack = 4242;
               }),
               4242, 0, kTcpRst});
  c.push_back({"fin without ack, with data", spec_with([](FrameSpec& s) {
                 s.tcp_flags = kTcpFin;
                 s.seq = 300;
                 s.payload = test::pattern(5);
               }),
               0, 306, kTcpRst | kTcpAck});
  c.push_back({"syn fin", spec_with([](FrameSpec& s) {
                 s.tcp_flags = kTcpSyn | kTcpFin;
                 s.seq = 300;
               }),
               0, 302, kTcpRst | kTcpAck});
  c.push_back({"no flags, data", spec_with([](FrameSpec& s) {
                 s.tcp_flags = 0;
                 s.seq = 1;
                 s.payload = test::pattern(50);
               }),
               0, 51, kTcpRst | kTcpAck});
  c.push_back({"syn with tcp and ip options, padded", spec_with([](FrameSpec& s) {
                 s.seq = 10;
                 s.ipv4_options = Bytes{1, 1, 1, 0};
                 s.tcp_options = Bytes{2, 4, 5, 0xb4};
                 s.pad_to = 80;
               }),
               0, 11, kTcpRst | kTcpAck});
  c.push_back({"ipv6 syn", spec_with([](FrameSpec& s) {
                 make_v6(s);
                 s.seq = 0x80000000;
               }),
               0, 0x80000001, kTcpRst | kTcpAck});
  c.push_back(
      {"ipv6 ack with extension headers", spec_with([](FrameSpec& s) {
         make_v6(s);
         s.extensions = {test::hop_by_hop(), test::routing_header(), test::destination_options(2)};
         s.tcp_flags = kTcpAck;
         s.ack = 123456;
         s.payload = test::pattern(33);
       }),
       123456, 0, kTcpRst});
  return c;
}

TEST(TcpReset, Rfc9293Table) {
  for (const ResetCase& c : reset_cases()) {
    SCOPED_TRACE(c.name);
    Received r = receive(c.in);
    size_t length = build_tcp_reset(r.buffer, r.frame_length, r.p);
    FrameSpec want = reply_to(c.in);
    want.src_port = c.in.dst_port;
    want.dst_port = c.in.src_port;
    want.seq = c.seq;
    want.ack = c.ack;
    want.tcp_flags = c.flags;
    want.window = 0;
    Bytes expected = test::build_frame(want);
    ASSERT_EQ(length, expected.size());
    Bytes got = reply_bytes(r, length);
    EXPECT_TRUE(got == expected) << test::frame_diff(got, expected);
    ParsedPacket reply;
    EXPECT_EQ(parse_frame(got, reply), DropReason::none);  // including the IPv4 checksum
  }
}

TEST(TcpReset, NoReply) {
  struct Case {
    std::string name;
    FrameSpec in;
    size_t shrink;  // bytes taken off the buffer
  };
  std::vector<Case> cases = {
      {"rst", spec_with([](FrameSpec& s) { s.tcp_flags = kTcpRst; }), 0},
      {"rst ack", spec_with([](FrameSpec& s) { s.tcp_flags = kTcpRst | kTcpAck; }), 0},
      {"ipv6 rst", spec_with([](FrameSpec& s) {
         make_v6(s);
         s.tcp_flags = kTcpRst;
       }),
       0},
      {"udp", spec_with([](FrameSpec& s) { s.protocol = kProtoUdp; }), 0},
      {"later fragment", spec_with([](FrameSpec& s) {
         s.fragment_offset = 3;
         s.l4_header = false;
         s.payload = test::pattern(20);
       }),
       0},
      {"buffer shorter than the frame", spec_with([](FrameSpec&) {}), 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Received r = receive(c.in);
    Bytes before = r.buffer;
    std::span<uint8_t> buffer(r.buffer.data(), r.buffer.size() - c.shrink);
    EXPECT_EQ(build_tcp_reset(buffer, r.frame_length, r.p), 0u);
    EXPECT_EQ(r.buffer, before);
  }
}

TEST(TcpReset, ArpIsNotReset) {
  FrameSpec s;
  s.ethertype = kEtherTypeArp;
  Received r = receive(s);
  EXPECT_EQ(build_tcp_reset(r.buffer, r.frame_length, r.p), 0u);
}

// ---- ICMP echo reply ----

struct EchoCase {
  std::string name;
  FrameSpec in;
};

std::vector<EchoCase> echo_cases() {
  auto echo = [](bool v6, std::function<void(FrameSpec&)> change) {
    return spec_with([=](FrameSpec& s) {
      if (v6) make_v6(s);
      s.protocol = v6 ? kProtoIcmpv6 : kProtoIcmp;
      s.icmp_type = v6 ? 128 : 8;
      s.icmp_rest = 0x1234abcd;
      s.payload = test::pattern(56);
      change(s);
    });
  };
  return {
      {"ipv4", echo(false, [](FrameSpec&) {})},
      {"ipv4 odd payload", echo(false, [](FrameSpec& s) { s.payload = test::pattern(33); })},
      {"ipv4 empty, padded", echo(false,
                                  [](FrameSpec& s) {
                                    s.payload.clear();
                                    s.pad_to = 60;
                                  })},
      {"ipv4 with options", echo(false, [](FrameSpec& s) { s.ipv4_options = Bytes(12, 1); })},
      {"ipv4 code 5 kept", echo(false, [](FrameSpec& s) { s.icmp_code = 5; })},
      {"ipv6", echo(true, [](FrameSpec&) {})},
      {"ipv6 large", echo(true, [](FrameSpec& s) { s.payload = test::pattern(1400); })},
      {"ipv6 with extension headers",
       echo(true,
            [](FrameSpec& s) {
              s.extensions = {test::hop_by_hop(1), test::destination_options()};
              s.payload = test::pattern(7);
            })},
  };
}

TEST(IcmpEchoReply, Table) {
  for (const EchoCase& c : echo_cases()) {
    SCOPED_TRACE(c.name);
    Received r = receive(c.in);
    size_t length = build_icmp_echo_reply(r.buffer, r.frame_length, r.p);
    FrameSpec want = reply_to(c.in);
    want.protocol = c.in.protocol;
    want.icmp_type = test::is_v6(c.in) ? 129 : 0;
    want.icmp_code = c.in.icmp_code;
    want.icmp_rest = c.in.icmp_rest;
    want.payload = c.in.payload;
    Bytes expected = test::build_frame(want);
    ASSERT_EQ(length, expected.size());
    Bytes got = reply_bytes(r, length);
    EXPECT_TRUE(got == expected) << test::frame_diff(got, expected);
  }
}

TEST(IcmpEchoReply, NoReply) {
  std::vector<EchoCase> cases = {
      {"echo reply", spec_with([](FrameSpec& s) {
         s.protocol = kProtoIcmp;
         s.icmp_type = 0;
       })},
      {"destination unreachable", spec_with([](FrameSpec& s) {
         s.protocol = kProtoIcmp;
         s.icmp_type = 3;
       })},
      {"ipv6 echo reply", spec_with([](FrameSpec& s) {
         make_v6(s);
         s.protocol = kProtoIcmpv6;
         s.icmp_type = 129;
       })},
      {"ipv4 echo type over ipv6", spec_with([](FrameSpec& s) {
         make_v6(s);
         s.protocol = kProtoIcmpv6;
         s.icmp_type = 8;
       })},
      {"first fragment of an echo", spec_with([](FrameSpec& s) {
         s.protocol = kProtoIcmp;
         s.more_fragments = true;
         s.payload = test::pattern(64);
       })},
      {"tcp", spec_with([](FrameSpec&) {})},
  };
  for (const EchoCase& c : cases) {
    SCOPED_TRACE(c.name);
    Received r = receive(c.in);
    Bytes before = r.buffer;
    EXPECT_EQ(build_icmp_echo_reply(r.buffer, r.frame_length, r.p), 0u);
    EXPECT_EQ(r.buffer, before);
  }
}

// ---- ICMP port unreachable ----

struct UnreachableCase {
  std::string name;
  FrameSpec in;
  size_t quoted;  // bytes of the original IP datagram in the reply
};

FrameSpec udp_spec(bool v6, size_t payload, std::function<void(FrameSpec&)> change = {}) {
  return spec_with([=](FrameSpec& s) {
    if (v6) make_v6(s);
    s.protocol = kProtoUdp;
    s.dst_port = 9999;
    s.payload = test::pattern(payload);
    if (change) change(s);
  });
}

TEST(IcmpPortUnreachable, Table) {
  std::vector<UnreachableCase> cases = {
      {"ipv4 small", udp_spec(false, 20), 48},
      {"ipv4 empty, padded frame", udp_spec(false, 0, [](FrameSpec& s) { s.pad_to = 60; }), 28},
      {"ipv4 with options", udp_spec(false, 10, [](FrameSpec& s) { s.ipv4_options = Bytes(8, 1); }),
       46},
      {"ipv4 exactly at 576", udp_spec(false, 576 - 28 - 28), 548},
      {"ipv4 cut to 576", udp_spec(false, 1000), 548},
      {"ipv4 tcp", spec_with([](FrameSpec&) {}), 40},
      {"ipv4 first fragment", udp_spec(false, 50, [](FrameSpec& s) { s.more_fragments = true; }),
       78},
      {"ipv6 small", udp_spec(true, 20), 68},
      {"ipv6 with extension headers",
       udp_spec(true, 4, [](FrameSpec& s) { s.extensions = {test::destination_options()}; }), 60},
      {"ipv6 cut to 1280", udp_spec(true, 1400), 1232},
  };
  for (const UnreachableCase& c : cases) {
    SCOPED_TRACE(c.name);
    bool v6 = test::is_v6(c.in);
    Received r = receive(c.in, 200);
    Bytes original_ip(r.buffer.begin() + 14,
                      r.buffer.begin() + 14 + static_cast<std::ptrdiff_t>(c.quoted));
    size_t length = build_icmp_port_unreachable(r.buffer, r.frame_length, r.p);
    FrameSpec want = reply_to(c.in);
    want.protocol = v6 ? kProtoIcmpv6 : kProtoIcmp;
    want.icmp_type = v6 ? 1 : 3;
    want.icmp_code = v6 ? 4 : 3;
    want.payload = original_ip;
    Bytes expected = test::build_frame(want);
    ASSERT_EQ(length, expected.size());
    EXPECT_LE(length - 14, v6 ? 1280u : 576u);
    Bytes got = reply_bytes(r, length);
    EXPECT_TRUE(got == expected) << test::frame_diff(got, expected);
  }
}

TEST(IcmpPortUnreachable, NeedsRoomInTheBuffer) {
  FrameSpec in = udp_spec(false, 20);
  Bytes frame = test::build_frame(in);
  size_t needed = frame.size() + 28;
  for (size_t room : {size_t{0}, size_t{27}, size_t{28}}) {
    SCOPED_TRACE(room);
    Received r = receive(in, room);
    Bytes before = r.buffer;
    size_t length = build_icmp_port_unreachable(r.buffer, r.frame_length, r.p);
    if (room < 28) {
      EXPECT_EQ(length, 0u);
      EXPECT_EQ(r.buffer, before);
    } else {
      EXPECT_EQ(length, needed);
    }
  }
}

TEST(IcmpPortUnreachable, NoErrorAboutErrorsFragmentsOrGroups) {
  std::vector<UnreachableCase> cases = {
      {"icmp error", spec_with([](FrameSpec& s) {
         s.protocol = kProtoIcmp;
         s.icmp_type = 3;
         s.payload = test::pattern(28);
       }),
       0},
      {"icmp6 error", spec_with([](FrameSpec& s) {
         make_v6(s);
         s.protocol = kProtoIcmpv6;
         s.icmp_type = 2;
         s.payload = test::pattern(48);
       }),
       0},
      {"later fragment",
       udp_spec(false, 0,
                [](FrameSpec& s) {
                  s.fragment_offset = 20;
                  s.l4_header = false;
                  s.payload = test::pattern(30);
                }),
       0},
      {"multicast destination", udp_spec(false, 8, [](FrameSpec& s) { s.dst = "224.0.0.251"; }), 0},
      {"broadcast destination", udp_spec(false, 8, [](FrameSpec& s) { s.dst = "255.255.255.255"; }),
       0},
      {"unspecified source", udp_spec(false, 8, [](FrameSpec& s) { s.src = "0.0.0.0"; }), 0},
      {"multicast source", udp_spec(false, 8, [](FrameSpec& s) { s.src = "239.1.1.1"; }), 0},
      {"ipv6 multicast destination", udp_spec(true, 8, [](FrameSpec& s) { s.dst = "ff02::1"; }), 0},
      {"ipv6 unspecified source", udp_spec(true, 8, [](FrameSpec& s) { s.src = "::"; }), 0},
  };
  for (const UnreachableCase& c : cases) {
    SCOPED_TRACE(c.name);
    Received r = receive(c.in, 200);
    Bytes before = r.buffer;
    EXPECT_EQ(build_icmp_port_unreachable(r.buffer, r.frame_length, r.p), 0u);
    EXPECT_EQ(r.buffer, before);
  }
}

}  // namespace
}  // namespace fairway
