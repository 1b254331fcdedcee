"""Reused 5-tuples: a SYN without ACK that finds a live entry is a new connection (scheduled
again, `flows_reused`) unless it repeats a handshake in progress. The back-end-state half of the
rules (drained, weight 0, down, removed) needs a snapshot change mid-run: unit tests
(reuse_rules_test) and the lab (test_lab_edge) show it."""
import pytest

import golden
from golden import CLIENT4, VIP4, VIP4_NAT, B11, B12, Case, Pick, from_client, tcp, to_backend, via_backend


def seg(sport, flags, seq, ack=0, vip=VIP4, port=80):
    return tcp(CLIENT4, vip, sport, port, flags, seq=seq, ack=ack)


def dsr_case(name, description, sport, segments, created, reused):
    frames = [seg(sport, flags, seq, ack) for flags, seq, ack in segments]
    return Case(name, description,
                inputs={"client": [from_client() / f for f in frames]},
                expect={"server": [via_backend("f", f) for f in frames]},
                counters={"dsr_forwarded": len(frames), "flows_created": created,
                          "flows_reused": reused})


HANDSHAKE = [("S", 1000, 0), ("A", 1001, 5001)]
CASES = [
    dsr_case("syn_after_fin", "SYN, ACK, FIN|ACK, then a SYN on the same 5-tuple: a new flow",
             40701, HANDSHAKE + [("FA", 1001, 5001), ("S", 90000, 0), ("A", 90001, 7001)], 2, 1),
    dsr_case("syn_after_rst", "SYN, ACK, RST, then a SYN: a new flow", 40702,
             HANDSHAKE + [("R", 1001, 0), ("S", 90000, 0)], 2, 1),
    dsr_case("syn_on_established", "a SYN on an established 5-tuple (the client restarted): new",
             40703, HANDSHAKE + [("S", 90000, 0)], 2, 1),
    dsr_case("syn_retransmitted", "a SYN repeated before the handshake ends keeps its entry",
             40704, [("S", 1000, 0), ("S", 1000, 0), ("S", 1000, 0), ("A", 1001, 5001)], 1, 0),
    dsr_case("late_segments_of_closing_flow", "after FIN, ACKs and a SYN|ACK keep the entry",
             40705, HANDSHAKE + [("FA", 1001, 5001), ("A", 1002, 5002), ("SA", 1002, 5002)],
             1, 0),
    Case("nat_syn_after_fin", "nat: the reused 5-tuple's SYN is translated like a new flow",
         inputs={"client": [from_client() / seg(40706, f, s, a, vip=VIP4_NAT)
                            for f, s, a in HANDSHAKE + [("FA", 1001, 5001), ("S", 5, 0)]]},
         expect={"server": [Pick("f", (B11, B12),
                                 lambda b, f=f, s=s, a=a: to_backend(b) / tcp(
                                     CLIENT4, b.ip4, 40706, 8080, f, seq=s, ack=a))
                            for f, s, a in HANDSHAKE + [("FA", 1001, 5001), ("S", 5, 0)]]},
         counters={"nat_forwarded": 4, "flows_created": 2, "flows_reused": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_reuse(case, results):
    golden.check(case, results[case.name])
