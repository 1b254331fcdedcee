"""dsr services: the frame goes to a back-end with only its MACs changed; a flow keeps its back-end."""
import pytest

import golden
from golden import (B11, B13, CLIENT4, VIP4, VIP4_WEIGHTS, Case, from_client, from_router, tcp,
                    via_backend)


def flow(sport, vip=VIP4):
    """The client's segments of one connection, by name."""
    return {
        "syn": tcp(CLIENT4, vip, sport, 80, "S", seq=1000),
        "ack": tcp(CLIENT4, vip, sport, 80, "A", seq=1001, ack=5001),
        "data": tcp(CLIENT4, vip, sport, 80, "PA", seq=1001, ack=5001, load=b"GET / HTTP/1.1\r\n\r\n"),
        "fin": tcp(CLIENT4, vip, sport, 80, "FA", seq=1019, ack=5001),
    }


SEGMENTS = ("syn", "ack", "data", "fin")
F1 = flow(40001)
FLOWS = {n: flow(40100 + n) for n in range(6)}
# Interleaved: every flow's SYN, then the ACKs in reverse, then the data.
INTERLEAVED = [(n, "syn") for n in range(6)] + [(n, "ack") for n in reversed(range(6))] + \
              [(n, "data") for n in range(6)]
WEIGHTED = [tcp(CLIENT4, VIP4_WEIGHTS, 41000 + i, 80, "S", seq=7 * i) for i in range(24)]
FAR = tcp("198.19.7.7", VIP4, 40003, 80, "S", seq=99, ttl=57, id=4242)
LARGE = [tcp(CLIENT4, VIP4, 40004, 80, "S", seq=1),
         tcp(CLIENT4, VIP4, 40004, 80, "PA", seq=2, ack=1, load=bytes(range(256)) * 5, tos=0x28)]

CASES = [
    Case("syn_to_backend", "a SYN to a dsr VIP leaves the server port, only the MACs changed",
         inputs={"client": [from_client() / F1["syn"]]},
         expect={"server": [via_backend("f", F1["syn"])]},
         counters={"dsr_forwarded": 1, "flows_created": 1}),
    Case("flow_keeps_backend", "SYN, ACK, data and FIN of one flow all reach the same back-end",
         inputs={"client": [from_client() / F1[s] for s in SEGMENTS]},
         expect={"server": [via_backend("f", F1[s]) for s in SEGMENTS]},
         counters={"dsr_forwarded": 4, "flows_created": 1}),
    Case("interleaved_flows", "six interleaved flows: each 5-tuple always hits its own flow entry",
         inputs={"client": [from_client() / FLOWS[n][s] for n, s in INTERLEAVED]},
         expect={"server": [via_backend(f"f{n}", FLOWS[n][s]) for n, s in INTERLEAVED]},
         counters={"dsr_forwarded": 18, "flows_created": 6}),
    Case("weight_zero_never_chosen", "24 new flows to a service whose b12 has weight 0: b11 or b13",
         inputs={"client": [from_client() / p for p in WEIGHTED]},
         expect={"server": [via_backend(f"f{i}", p, (B11, B13)) for i, p in enumerate(WEIGHTED)]},
         counters={"dsr_forwarded": 24, "flows_created": 24}),
    Case("remote_client", "a SYN from beyond the router (TTL 57, id 4242) is not routed: TTL kept",
         inputs={"client": [from_router() / FAR]},
         expect={"server": [via_backend("f", FAR)]},
         counters={"dsr_forwarded": 1, "flows_created": 1}),
    Case("large_segment", "a 1280-byte data segment with a TOS goes through byte for byte",
         inputs={"client": [from_client() / p for p in LARGE]},
         expect={"server": [via_backend("f", p) for p in LARGE]},
         counters={"dsr_forwarded": 2, "flows_created": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_dsr(case, results):
    golden.check(case, results[case.name])
