// The exception path's classes, as the pipeline gives them with a to_kernel decision, and transit
// without a route dropped in the data plane instead of handed to the kernel.
#include "pipeline/kernel_priority.h"

#include <gtest/gtest.h>

#include "harness.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

using namespace test;

struct KernelPriorityTest : ::testing::Test {
  std::unique_ptr<Snapshot> snap = make_snapshot({1, 1, 1}, ForwardingMode::dsr);
  Harness h;

  void SetUp() override {
    for (PortInfo& port : snap->ports) port.exception_path = true;
    snap->address_roles[ip("198.18.0.1")].local = true;
    snap->address_roles[ip("2001:2::1")].local = true;
    snap->control_api_port = 9180;
    for (const Backend& b : snap->services[0].backends) {
      snap->address_roles[b.address].backend = true;
    }
  }
  // To the box's own address on the client port.
  static FrameSpec to_box(uint8_t protocol, uint16_t dst_port, uint16_t src_port = 40000) {
    FrameSpec s = client_segment(src_port, kTcpSyn);
    s.dst = "198.18.0.1";
    s.protocol = protocol;
    s.dst_port = dst_port;
    return s;
  }
  KernelPriority priority_of(const FrameSpec& spec, uint16_t in_port = 0) {
    Decision d = h.run(*snap, spec, in_port);
    EXPECT_EQ(d.verdict, Verdict::to_kernel);
    return d.priority;
  }
};

TEST_F(KernelPriorityTest, NeighborDiscoveryComesFirst) {
  Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0,   2,  0x08, 0x06,
               0,    1,    0x08, 0,    6,    4,    0, 1, 2, 0, 0,   0,  0,    2,
               198,  18,   0,    2,    0,    0,    0, 0, 0, 0, 198, 18, 0,    1};
  arp.resize(60);
  const uint16_t length = static_cast<uint16_t>(arp.size());
  arp.resize(2048);
  Decision d = process_frame(*snap, h.ctx, 0, arp, length);
  EXPECT_EQ(d.verdict, Verdict::to_kernel);
  EXPECT_EQ(d.priority, KernelPriority::neighbor);

  FrameSpec solicitation = client_segment(0, 0);
  solicitation.src = "2001:2::2";
  solicitation.dst = "ff02::1:ff00:1";
  solicitation.dst_mac = {0x33, 0x33, 0xff, 0, 0, 1};
  solicitation.protocol = kProtoIcmpv6;
  solicitation.icmp_type = 135;
  EXPECT_EQ(priority_of(solicitation), KernelPriority::neighbor);
}

TEST_F(KernelPriorityTest, RoutingProtocolsTheApiAndBackendsAreControl) {
  EXPECT_EQ(priority_of(to_box(kProtoTcp, 179)), KernelPriority::control);
  EXPECT_EQ(priority_of(to_box(kProtoTcp, 50000, 179)), KernelPriority::control);  // BGP's answer
  EXPECT_EQ(priority_of(to_box(kProtoUdp, 3784)), KernelPriority::control);        // BFD
  EXPECT_EQ(priority_of(to_box(kProtoTcp, 9180)), KernelPriority::control);        // the API
  // A health check's SYN-ACK from a back-end to the box, arriving on the server port.
  FrameSpec answer = to_box(kProtoTcp, 45000, 80);
  answer.src = "198.18.1.12";
  answer.dst = "198.18.0.1";
  answer.dst_mac = kServerPortMac.bytes;
  answer.tcp_flags = kTcpSyn | kTcpAck;
  EXPECT_EQ(priority_of(answer, 1), KernelPriority::control);
}

TEST_F(KernelPriorityTest, PingsOfTheBoxHaveTheirOwnClass) {
  FrameSpec ping = to_box(kProtoIcmp, 0);
  ping.icmp_type = 8;
  EXPECT_EQ(priority_of(ping), KernelPriority::icmp);
  FrameSpec ping6 = to_box(kProtoIcmpv6, 0);
  ping6.src = "2001:2::2";
  ping6.dst = "2001:2::1";
  ping6.icmp_type = 128;
  EXPECT_EQ(priority_of(ping6), KernelPriority::icmp);
}

TEST_F(KernelPriorityTest, EverythingElseIsOther) {
  EXPECT_EQ(priority_of(to_box(kProtoTcp, 80)), KernelPriority::other);    // a SYN flood's kind
  EXPECT_EQ(priority_of(to_box(kProtoUdp, 9180)), KernelPriority::other);  // UDP to the API port
  EXPECT_EQ(priority_of(to_box(kProtoUdp, 53)), KernelPriority::other);

  // Transit whose TTL runs out: the kernel sends time exceeded, at the lowest class.
  FrameSpec expiring = client_segment(40000, kTcpSyn);
  expiring.dst = "198.18.1.50";
  expiring.ttl = 1;
  EXPECT_EQ(priority_of(expiring), KernelPriority::other);
  snap->control_api_port = 0;
  EXPECT_EQ(priority_of(to_box(kProtoTcp, 9180)), KernelPriority::other);
}

TEST_F(KernelPriorityTest, TransitWithoutARouteIsDroppedNotHandedToTheKernel) {
  // A back-end's SYN-ACK to a spoofed source no route covers.
  FrameSpec reply = client_segment(80, kTcpSyn | kTcpAck);
  reply.src = "198.18.1.11";
  reply.dst = "198.19.77.1";
  reply.src_port = 80;
  reply.dst_port = 40000;
  reply.dst_mac = kServerPortMac.bytes;
  Decision d = h.run(*snap, reply, 1);
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(d.reason, DropReason::no_route);
  EXPECT_EQ(h.counters.to_kernel, 0u);
  EXPECT_EQ(h.drops(DropReason::no_route), 1u);
}

}  // namespace
}  // namespace fairway
