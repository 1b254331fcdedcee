// The reuse rules: what a SYN without ACK does when its 5-tuple still has a live entry
// (docs/ARCHITECTURE.md, "Reused 5-tuples").
#include <gtest/gtest.h>

#include "harness.h"
#include "pipeline/pipeline.h"

namespace fairway {
namespace {

using namespace test;

// Before: every flow goes to b1. After: b1 keeps a small weight and b2 a large one, so most new
// flows go to b2 while b1 still takes new flows.
struct Reuse : ::testing::Test {
  std::unique_ptr<Snapshot> before = make_snapshot({1, 0, 0}, ForwardingMode::dsr, 1);
  std::unique_ptr<Snapshot> after = make_snapshot({1, 1000, 0}, ForwardingMode::dsr, 2);
  Harness h;

  // A client port whose new flow goes to b2 under `after`.
  uint16_t port_moving_to_b2() {
    for (uint16_t port = 3000; port < 4000; ++port) {
      Harness fresh;
      fresh.run(*after, client_segment(port, kTcpSyn));
      if (fresh.backend_of_output() == 2) return port;
    }
    ADD_FAILURE() << "no flow goes to b2";
    return 0;
  }
  int send(const Snapshot& snap, uint16_t port, uint8_t flags) {
    EXPECT_EQ(h.run(snap, client_segment(port, flags)).verdict, Verdict::forward);
    return h.backend_of_output();
  }
};

TEST_F(Reuse, SynOnAClosingFlowIsANewConnection) {
  const uint16_t port = port_moving_to_b2();
  EXPECT_EQ(send(*before, port, kTcpSyn), 1);
  EXPECT_EQ(send(*before, port, kTcpAck), 1);
  EXPECT_EQ(send(*before, port, kTcpAck | kTcpFin), 1);
  EXPECT_EQ(send(*after, port, kTcpAck), 1);  // the old connection's last ACK: its entry
  EXPECT_EQ(send(*after, port, kTcpSyn), 2);  // the reused port: scheduled again
  EXPECT_EQ(send(*after, port, kTcpAck), 2);  // and the new entry holds
  EXPECT_EQ(h.counters.flows_reused, 1u);
  EXPECT_EQ(h.counters.flows_created, 2u);
}

TEST_F(Reuse, SynOnAResetFlowIsANewConnection) {
  const uint16_t port = port_moving_to_b2();
  send(*before, port, kTcpSyn);
  send(*before, port, kTcpAck);
  send(*before, port, kTcpRst);
  EXPECT_EQ(send(*after, port, kTcpSyn), 2);
  EXPECT_EQ(h.counters.flows_reused, 1u);
}

TEST_F(Reuse, SynOnAnEstablishedFlowIsANewConnection) {
  const uint16_t port = port_moving_to_b2();
  send(*before, port, kTcpSyn);
  send(*before, port, kTcpAck);
  EXPECT_EQ(send(*after, port, kTcpSyn), 2);
  EXPECT_EQ(h.counters.flows_reused, 1u);
}

TEST_F(Reuse, RepeatedSynOfAHandshakeInProgressKeepsItsBackend) {
  const uint16_t port = port_moving_to_b2();
  EXPECT_EQ(send(*before, port, kTcpSyn), 1);
  EXPECT_EQ(send(*after, port, kTcpSyn), 1);  // a retransmission: b1 still takes new flows
  EXPECT_EQ(send(*after, port, kTcpAck), 1);
  EXPECT_EQ(h.counters.flows_reused, 0u);
  EXPECT_EQ(h.counters.flows_created, 1u);
}

TEST_F(Reuse, SegmentsOtherThanABareSynKeepTheEntry) {
  const uint16_t port = port_moving_to_b2();
  send(*before, port, kTcpSyn);
  send(*before, port, kTcpAck);
  send(*before, port, kTcpAck | kTcpFin);
  EXPECT_EQ(send(*after, port, kTcpSyn | kTcpAck), 1);
  EXPECT_EQ(send(*after, port, kTcpAck), 1);
  EXPECT_EQ(h.counters.flows_reused, 0u);
}

// A handshake in progress whose back-end no longer takes new flows starts over, whatever made it
// so: weight 0, drained, down (with the keep policy), removed from the service.
TEST_F(Reuse, HandshakeToABackendThatTakesNoNewFlowsStartsOver) {
  struct Variant {
    const char* name;
    void (*apply)(Service&);
  };
  const Variant variants[] = {
      {"weight 0", [](Service& s) { s.backends[0].effective_weight = 0; }},
      {"drained",
       [](Service& s) { s.backends[0].drained = true, s.backends[0].effective_weight = 0; }},
      {"down", [](Service& s) { s.backends[0].up = false, s.backends[0].effective_weight = 0; }},
      {"removed (kept for its flows)",
       [](Service& s) { s.backends[0].removed = true, s.backends[0].effective_weight = 0; }},
      // Gone from the service altogether (its slot, out of Maglev, now names another address).
      {"gone", [](Service& s) { s.backends[0].address = ip("198.18.1.99"); }},
  };
  uint16_t port = 5000;
  for (const Variant& v : variants) {
    SCOPED_TRACE(v.name);
    Harness fresh;
    auto start = make_snapshot({1, 1, 0}, ForwardingMode::dsr, 1);
    auto changed = make_snapshot({0, 1, 0}, ForwardingMode::dsr, 2);  // Maglev without b1
    v.apply(changed->services[0]);
    changed->services[0].backends.back().effective_weight = 0;  // b3 stays out
    // A flow on b1.
    for (;; ++port) {
      fresh.run(*start, client_segment(port, kTcpSyn));
      if (fresh.backend_of_output() == 1) break;
    }
    EXPECT_EQ(fresh.run(*changed, client_segment(port, kTcpSyn)).verdict, Verdict::forward);
    EXPECT_EQ(fresh.backend_of_output(), 2);
    EXPECT_EQ(fresh.counters.flows_reused, 1u);
    // An established flow of b1 is not touched by its back-end's state (keep policy).
    const uint16_t other = static_cast<uint16_t>(port + 20000);
    Harness established;
    for (uint16_t p = other;; ++p) {
      established.run(*start, client_segment(p, kTcpSyn));
      if (established.backend_of_output() != 1) continue;
      established.run(*start, client_segment(p, kTcpAck));
      EXPECT_EQ(established.run(*changed, client_segment(p, kTcpAck)).verdict, Verdict::forward);
      EXPECT_EQ(established.backend_of_output(), 1);
      break;
    }
    ++port;
  }
}

}  // namespace
}  // namespace fairway
