// The SYN proxy end to end through the pipeline (docs/ARCHITECTURE.md, "SYN proxy"): the cookie
// handshake with the client, the back-end's handshake in the client's name, sequence translation
// both ways, and what a bad cookie, early data and a lost ACK get. Every frame that comes out is
// compared byte for byte with one built independently (checksums by the reference implementation).
#include <gtest/gtest.h>

#include "harness.h"
#include "lb/syn_cookie.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

using namespace test;

constexpr uint16_t kClientPort = 43210;
constexpr uint32_t kClientIsn = 1000;
constexpr uint32_t kBackendIsn = 7'000'000;
constexpr uint64_t kWallSeconds = 1'800'000'000;

const MacAddress kBackendMac = backend_mac(1);

// A MSS option: kind 2, length 4.
Bytes mss_option(uint16_t mss) {
  return Bytes{2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)};
}

FrameSpec from_client(uint8_t flags, uint32_t seq, uint32_t ack, Bytes payload = {}) {
  FrameSpec s = client_segment(kClientPort, flags);
  s.seq = seq;
  s.ack = ack;
  s.payload = std::move(payload);
  return s;
}

FrameSpec from_backend(uint8_t flags, uint32_t seq, uint32_t ack, Bytes payload = {}) {
  FrameSpec s;
  s.src_mac = kBackendMac.bytes;
  s.dst_mac = kServerPortMac.bytes;
  s.src = "198.18.1.11";
  s.dst = "198.18.0.2";
  s.src_port = 8080;
  s.dst_port = kClientPort;
  s.tcp_flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.payload = std::move(payload);
  return s;
}

// A frame the proxy writes itself: IPv4 without options, ID 0, DF, TTL 64.
FrameSpec written(const std::array<uint8_t, 6>& src_mac, const std::array<uint8_t, 6>& dst_mac,
                  std::string src, std::string dst, uint16_t sport, uint16_t dport, uint8_t flags,
                  uint32_t seq, uint32_t ack, uint16_t window, Bytes options) {
  FrameSpec s;
  s.src_mac = src_mac;
  s.dst_mac = dst_mac;
  s.src = std::move(src);
  s.dst = std::move(dst);
  s.ip_id = 0;
  s.dont_fragment = true;
  s.ttl = 64;
  s.src_port = sport;
  s.dst_port = dport;
  s.tcp_flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.window = window;
  s.tcp_options = std::move(options);
  return s;
}

struct SynProxy : ::testing::Test {
  std::unique_ptr<Snapshot> snap = proxied_snapshot(SynProxyMode::always);
  Harness h;

  SynProxy() { h.ctx.wall_seconds = kWallSeconds; }

  static std::unique_ptr<Snapshot> proxied_snapshot(SynProxyMode mode) {
    auto s = make_snapshot({1}, ForwardingMode::nat);
    s->services[0].syn_proxy = mode;
    s->syn_cookie_key = SynCookieKey{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    return s;
  }
  uint32_t cookie(uint16_t mss = 1460, uint32_t isn = kClientIsn) const {
    const FlowKey key{ip("198.18.0.2"), ip("198.18.100.1"), kClientPort, 80, kProtoTcp};
    return make_syn_cookie(snap->syn_cookie_key, key, isn, syn_cookie_clock(kWallSeconds),
                           syn_cookie_mss_class(mss));
  }
  void expect_output(const Decision& d, uint16_t port, const FrameSpec& expected) {
    EXPECT_EQ(d.verdict, Verdict::forward);
    EXPECT_EQ(d.port, port);
    EXPECT_EQ(h.last_output, build_frame(expected));
  }
  // The handshake up to the back-end's SYN-ACK answered.
  void open() {
    FrameSpec syn = from_client(kTcpSyn, kClientIsn, 0);
    syn.tcp_options = mss_option(1460);
    h.run(*snap, syn);
    h.run(*snap, from_client(kTcpAck, kClientIsn + 1, cookie() + 1));
    h.run(*snap, from_backend(kTcpSyn | kTcpAck, kBackendIsn, kClientIsn + 1), 1);
  }
};

TEST_F(SynProxy, SynIsAnsweredWithACookieAndNothingIsKept) {
  FrameSpec syn = from_client(kTcpSyn, kClientIsn, 0);
  syn.tcp_options = mss_option(1460);
  Decision d = h.run(*snap, syn);
  expect_output(
      d, 0,
      written(kClientPortMac.bytes, kClientMac.bytes, "198.18.100.1", "198.18.0.2", 80, kClientPort,
              kTcpSyn | kTcpAck, cookie(), kClientIsn + 1, 8192, mss_option(1460)));
  EXPECT_EQ(h.counters.syn_cookies_sent, 1u);
  EXPECT_EQ(h.flows.size(), 0u);
  EXPECT_EQ(h.flows.half_open(), 0u);
}

TEST_F(SynProxy, GoodCookieOpensTheBackendSideWithTheClientsIsnAndMss) {
  FrameSpec syn = from_client(kTcpSyn, kClientIsn, 0);
  syn.tcp_options = mss_option(1400);
  h.run(*snap, syn);
  Decision d = h.run(*snap, from_client(kTcpAck, kClientIsn + 1, cookie(1400) + 1));
  expect_output(d, 1,
                written(kServerPortMac.bytes, kBackendMac.bytes, "198.18.0.2", "198.18.1.11",
                        kClientPort, 8080, kTcpSyn, kClientIsn, 0, 8192, mss_option(1400)));
  EXPECT_EQ(h.counters.syn_cookies_validated, 1u);
  EXPECT_EQ(h.counters.syn_proxy_backend_syns, 1u);
  EXPECT_EQ(h.counters.flows_created, 1u);
}

TEST_F(SynProxy, BackendSynAckIsAnsweredInTheClientsName) {
  FrameSpec syn = from_client(kTcpSyn, kClientIsn, 0);
  syn.tcp_options = mss_option(1460);
  h.run(*snap, syn);
  h.run(*snap, from_client(kTcpAck, kClientIsn + 1, cookie() + 1));
  Decision d = h.run(*snap, from_backend(kTcpSyn | kTcpAck, kBackendIsn, kClientIsn + 1), 1);
  expect_output(d, 1,
                written(kServerPortMac.bytes, kBackendMac.bytes, "198.18.0.2", "198.18.1.11",
                        kClientPort, 8080, kTcpAck, kClientIsn + 1, kBackendIsn + 1, 8192, {}));
  EXPECT_EQ(h.counters.syn_proxy_backend_acks, 1u);
  // A repeated SYN-ACK (our ACK was lost) gets the same answer.
  d = h.run(*snap, from_backend(kTcpSyn | kTcpAck, kBackendIsn, kClientIsn + 1), 1);
  expect_output(d, 1,
                written(kServerPortMac.bytes, kBackendMac.bytes, "198.18.0.2", "198.18.1.11",
                        kClientPort, 8080, kTcpAck, kClientIsn + 1, kBackendIsn + 1, 8192, {}));
}

TEST_F(SynProxy, SequenceNumbersAreTranslatedBothWays) {
  open();
  const Bytes request{'G', 'E', 'T', ' ', '/'};
  Decision d = h.run(*snap, from_client(kTcpAck | kTcpPsh, kClientIsn + 1, cookie() + 1, request));
  FrameSpec to_backend = from_client(kTcpAck | kTcpPsh, kClientIsn + 1, kBackendIsn + 1, request);
  to_backend.src_mac = kServerPortMac.bytes;
  to_backend.dst_mac = kBackendMac.bytes;
  to_backend.dst = "198.18.1.11";
  to_backend.dst_port = 8080;
  expect_output(d, 1, to_backend);

  const Bytes response{'2', '0', '0'};
  d = h.run(*snap, from_backend(kTcpAck | kTcpPsh, kBackendIsn + 1, kClientIsn + 1 + 5, response),
            1);
  FrameSpec to_client = from_backend(kTcpAck | kTcpPsh, cookie() + 1, kClientIsn + 6, response);
  to_client.src_mac = kClientPortMac.bytes;
  to_client.dst_mac = kClientMac.bytes;
  to_client.src = "198.18.100.1";
  to_client.src_port = 80;
  to_client.ttl = 63;  // routed
  expect_output(d, 0, to_client);
  EXPECT_EQ(h.counters.nat_forwarded, 1u);
  EXPECT_EQ(h.counters.nat_reversed, 1u);
}

TEST_F(SynProxy, BadCookieIsDroppedAndCounted) {
  Decision d = h.run(*snap, from_client(kTcpAck, kClientIsn + 1, cookie() + 2));
  EXPECT_EQ(d.verdict, Verdict::drop);
  EXPECT_EQ(h.drops(DropReason::bad_syn_cookie), 1u);
  // An ACK whose sequence number is not the SYN's + 1: the cookie does not vouch for it.
  d = h.run(*snap, from_client(kTcpAck, kClientIsn + 2, cookie() + 1));
  EXPECT_EQ(h.drops(DropReason::bad_syn_cookie), 2u);
  EXPECT_EQ(h.flows.size(), 0u);
}

TEST_F(SynProxy, CookieFromAnotherKeyOrTooOldIsRefused) {
  const uint32_t good = cookie();
  h.ctx.wall_seconds = kWallSeconds + 2 * kSynCookiePeriodSeconds;  // two periods later
  h.run(*snap, from_client(kTcpAck, kClientIsn + 1, good + 1));
  EXPECT_EQ(h.drops(DropReason::bad_syn_cookie), 1u);
  h.ctx.wall_seconds = kWallSeconds + kSynCookiePeriodSeconds;  // the next period: still good
  h.run(*snap, from_client(kTcpAck, kClientIsn + 1, good + 1));
  EXPECT_EQ(h.counters.syn_cookies_validated, 1u);
}

TEST_F(SynProxy, DataBeforeTheBackendAnswersRetriesItsSyn) {
  FrameSpec syn = from_client(kTcpSyn, kClientIsn, 0);
  syn.tcp_options = mss_option(1460);
  h.run(*snap, syn);
  h.run(*snap, from_client(kTcpAck, kClientIsn + 1, cookie() + 1));
  Decision d =
      h.run(*snap, from_client(kTcpAck | kTcpPsh, kClientIsn + 1, cookie() + 1, {1, 2, 3}));
  expect_output(d, 1,
                written(kServerPortMac.bytes, kBackendMac.bytes, "198.18.0.2", "198.18.1.11",
                        kClientPort, 8080, kTcpSyn, kClientIsn, 0, 8192, mss_option(1460)));
  EXPECT_EQ(h.counters.syn_proxy_backend_syns, 2u);
}

TEST_F(SynProxy, BackendResetWhileOpeningReachesTheClientInItsSequenceSpace) {
  FrameSpec syn = from_client(kTcpSyn, kClientIsn, 0);
  h.run(*snap, syn);
  h.run(*snap, from_client(kTcpAck, kClientIsn + 1, cookie(536) + 1));
  Decision d = h.run(*snap, from_backend(kTcpRst | kTcpAck, 0, kClientIsn + 1), 1);
  FrameSpec to_client = from_backend(kTcpRst | kTcpAck, cookie(536) + 1, kClientIsn + 1);
  to_client.src_mac = kClientPortMac.bytes;
  to_client.dst_mac = kClientMac.bytes;
  to_client.src = "198.18.100.1";
  to_client.src_port = 80;
  to_client.ttl = 63;
  expect_output(d, 0, to_client);
}

TEST_F(SynProxy, NewSynOnAProxiedFlowStartsOver) {
  open();
  FrameSpec syn = from_client(kTcpSyn, 90'000, 0);
  Decision d = h.run(*snap, syn);
  EXPECT_EQ(d.port, 0);  // a cookie again
  EXPECT_EQ(h.counters.flows_reused, 1u);
  EXPECT_EQ(h.counters.syn_cookies_sent, 2u);
}

TEST(SynProxyUnderPressure, OffWhileTheTableIsCalmOnUnderAFloodAndForAWhileAfter) {
  auto snap = SynProxy::proxied_snapshot(SynProxyMode::under_pressure);
  Harness h;
  h.ctx.wall_seconds = kWallSeconds;
  h.ctx.now_ms = 1'000'000;
  Decision d = h.run(*snap, from_client(kTcpSyn, kClientIsn, 0));
  EXPECT_EQ(d.port, 1);  // calm: the SYN goes to the back-end, an entry is made
  EXPECT_EQ(h.counters.syn_cookies_sent, 0u);
  EXPECT_FALSE(h.ctx.syn_proxy.active(h.ctx.now_ms));
  // A flood of SYNs from many sources fills a quarter of the table with half-open entries.
  for (uint32_t i = 0; h.flows.half_open() * 4 <= h.flows.capacity(); ++i) {
    FrameSpec s = client_segment(static_cast<uint16_t>(1024 + i % 60000), kTcpSyn);
    s.src = "198.18." + std::to_string(10 + i / 60000) + "." + std::to_string(1 + i % 250);
    h.run(*snap, s);
  }
  FrameSpec real = from_client(kTcpSyn, 5, 0);
  real.src_port = 50000;
  d = h.run(*snap, real);
  EXPECT_EQ(d.port, 0);  // under pressure: a cookie
  EXPECT_EQ(h.counters.syn_cookies_sent, 1u);
  // The flood goes on, answered with cookies nobody returns: the proxy stays engaged after the
  // half-open entries have expired.
  for (int second = 0; second < 45; ++second) {
    h.ctx.now_ms += 1000;
    h.flows.expire_some(h.ctx.now_ms, h.flows.bucket_count());
    for (int i = 0; i < 100; ++i) {
      FrameSpec s = client_segment(static_cast<uint16_t>(2000 + i), kTcpSyn);
      s.src = "198.19.0." + std::to_string(1 + i);
      h.run(*snap, s);
    }
  }
  EXPECT_FALSE(h.flows.under_pressure(h.ctx.now_ms));
  EXPECT_TRUE(h.ctx.syn_proxy.active(h.ctx.now_ms));  // what the status shows as engaged
  EXPECT_GE(h.counters.syn_cookies_sent, 3000u);
  EXPECT_EQ(h.run(*snap, from_client(kTcpSyn, 9, 0)).port, 0);
  // Flood over: the last second of it still counts, then SynProxyEngagement::kHoldMs later SYNs
  // go to the back-end again.
  h.ctx.now_ms += SynProxyEngagement::kWindowMs;
  EXPECT_EQ(h.run(*snap, from_client(kTcpSyn, 11, 0)).port, 0);
  h.ctx.now_ms += SynProxyEngagement::kHoldMs + 1;
  FrameSpec late = from_client(kTcpSyn, 13, 0);
  late.src_port = 50001;
  EXPECT_EQ(h.run(*snap, late).port, 1);
  EXPECT_FALSE(h.ctx.syn_proxy.active(h.ctx.now_ms));
}

TEST_F(SynProxy, SegmentsWithoutFlowOrCookieLeaveNoEntry) {
  // A flood of SYN+ACKs, resets or flagless segments from made-up clients must not fill the table
  // that the cookies' flows need.
  for (uint8_t flags :
       {uint8_t(kTcpSyn | kTcpAck), uint8_t(kTcpRst), uint8_t(0), uint8_t(kTcpFin | kTcpAck)}) {
    Decision d = h.run(*snap, from_client(flags, 5, 6));
    EXPECT_EQ(d.verdict, Verdict::drop);
  }
  EXPECT_EQ(h.drops(DropReason::bad_syn_cookie), 4u);
  EXPECT_EQ(h.flows.size(), 0u);
}

TEST(SynProxyUnderPressure, WhileEngagedSegmentsWithoutCookieGoUntracked) {
  auto snap = SynProxy::proxied_snapshot(SynProxyMode::under_pressure);
  Harness h;
  h.ctx.wall_seconds = kWallSeconds;
  h.ctx.syn_proxy.until_ms = h.ctx.now_ms + SynProxyEngagement::kHoldMs;  // engaged
  h.ctx.syn_proxy.window_start_ms = h.ctx.now_ms;
  for (uint8_t flags : {uint8_t(kTcpAck), uint8_t(kTcpSyn | kTcpAck), uint8_t(0)}) {
    Decision d = h.run(*snap, from_client(flags, 5, 6));
    EXPECT_EQ(d.port, 1);  // the Maglev choice, as for any segment that misses
  }
  EXPECT_EQ(h.counters.flows_consistent, 3u);
  EXPECT_EQ(h.flows.size(), 0u);
}

TEST(SynProxyUnderPressure, AckWithoutCookieFollowsTheMissingFlowPolicy) {
  auto snap = SynProxy::proxied_snapshot(SynProxyMode::under_pressure);
  Harness h;
  h.ctx.wall_seconds = kWallSeconds;
  Decision d = h.run(*snap, from_client(kTcpAck, 5, 77));  // an untracked flow's segment
  EXPECT_EQ(d.port, 1);
  EXPECT_EQ(h.counters.flows_consistent, 1u);
  EXPECT_EQ(h.drops(DropReason::bad_syn_cookie), 0u);
}

}  // namespace
}  // namespace fairway
