"""nat services: destination rewritten to back-end:8080 on the way in, source back to VIP:80 on
the way out (stateless: by back-end endpoint), checksums updated incrementally."""
import pytest

import golden
from golden import (B11, B12, CLIENT4, NAT_BACKENDS, VIP4_NAT, Case, Pick, from_backend,
                    from_client, service, tcp, to_backend, to_client, to_router, udp)

REMOTE = "198.19.7.7"  # a client beyond the router


def to_nat_backend(var, make):
    """`make(backend)` leaving the server port toward the back-end of flow `var`."""
    return Pick(var, NAT_BACKENDS, lambda b: to_backend(b) / make(b))


def with_tcp_options(pkt):
    p = pkt.copy()
    p["TCP"].options = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None),
                        ("WScale", 7)]
    return p


IN = {  # client -> VIP:80, and as rewritten toward back-end b
    "syn": (lambda d, p: tcp(CLIENT4, d, 40201, p, "S", seq=1000)),
    "ack": (lambda d, p: tcp(CLIENT4, d, 40201, p, "A", seq=1001, ack=5001)),
    "data": (lambda d, p: tcp(CLIENT4, d, 40201, p, "PA", seq=1001, ack=5001, load=b"GET /\r\n\r\n")),
}
SEGMENTS = ("syn", "ack", "data")
# The back-end's answers, from b:8080, and as they must leave toward the client.
SYNACK = lambda s, p, ttl=64: tcp(s, CLIENT4, p, 40201, "SA", seq=5000, ack=1001, ttl=ttl)
DATA = lambda s, p, ttl=64: tcp(s, CLIENT4, p, 40201, "PA", seq=5001, ack=1010, ttl=ttl,
                                load=b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 300)
FAR = lambda s, p, ttl=64: tcp(s, REMOTE, p, 33000, "A", seq=9, ack=9, ttl=ttl)

# UDP datagrams whose rewritten checksum sums to zero, so it must be sent as 0xffff (RFC 768).
FWD_ZERO_SUM, REV_ZERO_SUM = b"zero\xd3\x11", b"zero\x84\xce"
ONLY_B11 = [service("dns-nat-1", VIP4_NAT, 53, (B11,), protocol="udp", mode="nat",
                    backend_port=5353)]

CASES = [
    Case("syn_rewritten", "SYN to VIP:80 -> destination back-end:8080, IP and TCP checksums valid",
         inputs={"client": [from_client() / IN["syn"](VIP4_NAT, 80)]},
         expect={"server": [to_nat_backend("f", lambda b: IN["syn"](b.ip4, 8080))]},
         counters={"nat_forwarded": 1, "flows_created": 1}),
    Case("syn_with_tcp_options", "MSS, SACK, timestamps, window scale: kept, checksum valid",
         inputs={"client": [from_client() / with_tcp_options(IN["syn"](VIP4_NAT, 80))]},
         expect={"server": [to_nat_backend("f", lambda b: with_tcp_options(IN["syn"](b.ip4, 8080)))]},
         counters={"nat_forwarded": 1, "flows_created": 1}),
    Case("flow_keeps_backend", "SYN, ACK and data of one flow: same back-end, each rewritten",
         inputs={"client": [from_client() / IN[s](VIP4_NAT, 80) for s in SEGMENTS]},
         expect={"server": [to_nat_backend("f", lambda b, s=s: IN[s](b.ip4, 8080))
                            for s in SEGMENTS]},
         counters={"nat_forwarded": 3, "flows_created": 1}),
    Case("reply_reversed", "b11:8080 -> client comes out as VIP:80 -> client, TTL-1, client's MAC",
         inputs={"server": [from_backend(B11) / SYNACK(B11.ip4, 8080)]},
         expect={"client": [to_client() / SYNACK(VIP4_NAT, 80, ttl=63)]},
         counters={"nat_reversed": 1, "transit_forwarded": 1}),
    Case("reply_with_data_from_b12", "a data segment from the other back-end b12:8080 too",
         inputs={"server": [from_backend(B12) / DATA(B12.ip4, 8080)]},
         expect={"client": [to_client() / DATA(VIP4_NAT, 80, ttl=63)]},
         counters={"nat_reversed": 1, "transit_forwarded": 1}),
    Case("round_trip", "the SYN in and the SYN-ACK back in one run",
         inputs={"client": [from_client() / IN["syn"](VIP4_NAT, 80)],
                 "server": [from_backend(B11) / SYNACK(B11.ip4, 8080)]},
         expect={"server": [to_nat_backend("f", lambda b: IN["syn"](b.ip4, 8080))],
                 "client": [to_client() / SYNACK(VIP4_NAT, 80, ttl=63)]},
         counters={"nat_forwarded": 1, "flows_created": 1, "nat_reversed": 1,
                   "transit_forwarded": 1}),
    Case("reply_to_remote_client", "a reply to a client beyond the router goes to the router",
         inputs={"server": [from_backend(B11) / FAR(B11.ip4, 8080)]},
         expect={"client": [to_router() / FAR(VIP4_NAT, 80, ttl=63)]},
         counters={"nat_reversed": 1, "transit_forwarded": 1}),
    Case("reply_from_other_port_not_reversed", "b11:9999 is no nat endpoint: plain transit",
         inputs={"server": [from_backend(B11) / SYNACK(B11.ip4, 9999)]},
         expect={"client": [to_client() / SYNACK(B11.ip4, 9999, ttl=63)]},
         counters={"transit_forwarded": 1}),
    Case("udp_rewritten", "UDP to VIP:53 -> back-end:5353, UDP checksum valid",
         inputs={"client": [from_client() / udp(CLIENT4, VIP4_NAT, 40300, 53)]},
         expect={"server": [to_nat_backend("f", lambda b: udp(CLIENT4, b.ip4, 40300, 5353))]},
         counters={"nat_forwarded": 1, "flows_created": 1}),
    Case("udp_zero_checksum_stays_zero", "an IPv4 UDP checksum of 0 (none) is not invented",
         inputs={"client": [from_client() / udp(CLIENT4, VIP4_NAT, 40301, 53, chksum=0)]},
         expect={"server": [to_nat_backend("f", lambda b: udp(CLIENT4, b.ip4, 40301, 5353,
                                                              chksum=0))]},
         counters={"nat_forwarded": 1, "flows_created": 1}),
    Case("udp_zero_checksum_reply_stays_zero", "the back-end's reply without checksum: still 0",
         inputs={"server": [from_backend(B11) / udp(B11.ip4, CLIENT4, 5353, 40301, chksum=0)]},
         expect={"client": [to_client() / udp(VIP4_NAT, CLIENT4, 53, 40301, chksum=0, ttl=63)]},
         counters={"nat_reversed": 1, "transit_forwarded": 1}),
    Case("udp_checksum_summing_to_zero", "a rewritten UDP checksum that sums to 0 is sent as 0xffff",
         services=ONLY_B11,
         inputs={"client": [from_client() / udp(CLIENT4, VIP4_NAT, 40400, 53, load=FWD_ZERO_SUM)],
                 "server": [from_backend(B11) / udp(B11.ip4, CLIENT4, 5353, 40400,
                                                    load=REV_ZERO_SUM)]},
         expect={"server": [to_backend(B11) / udp(CLIENT4, B11.ip4, 40400, 5353, load=FWD_ZERO_SUM,
                                                  chksum=0xffff)],
                 "client": [to_client() / udp(VIP4_NAT, CLIENT4, 53, 40400, load=REV_ZERO_SUM,
                                              chksum=0xffff, ttl=63)]},
         counters={"nat_forwarded": 1, "flows_created": 1, "nat_reversed": 1,
                   "transit_forwarded": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_nat(case, results):
    golden.check(case, results[case.name])
