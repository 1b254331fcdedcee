"""IPv6: dsr, nat and resets, also with extension headers in front of TCP."""
import pytest

import golden
from golden import (B11, CLIENT6, NAT_BACKENDS, VIP6, VIP6_NAT, Case, Pick, from_backend,
                    from_client, tcp, to_backend, to_client, via_backend)
from scapy.all import IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, PadN


def with_ext(pkt, *headers):
    """`pkt` with extension headers inserted between the IPv6 header and TCP."""
    l3 = pkt.copy()
    upper = l3.payload.copy()
    l3.remove_payload()
    for h in headers:
        l3 = l3 / h
    return l3 / upper


DESTOPT = IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 4)])
HOPBYHOP = IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00" * 4)])


def syn(dst, cport, dport=80, **kw):
    return tcp(CLIENT6, dst, cport, dport, "S", seq=1000, **kw)


def ack(dst, cport, dport=80, **kw):
    return tcp(CLIENT6, dst, cport, dport, "PA", seq=1001, ack=5001, load=b"hello", **kw)


def reset(cport, flags, seq=0, ack=0):
    """From [VIP6]:81, hop limit 64, no extension header."""
    return tcp(VIP6, CLIENT6, 81, cport, flags, seq=seq, ack=ack, window=0)


def to_nat(var, make):
    return Pick(var, NAT_BACKENDS, lambda b: to_backend(b) / make(b))


MARKED = dict(tc=0x28, fl=0x12345)  # traffic class and flow label must survive
SYNACK = lambda src, sport, hlim=64: tcp(src, CLIENT6, sport, 40901, "SA", seq=5000, ack=1001,
                                         ttl=hlim, load=b"y" * 100)

CASES = [
    Case("dsr_syn", "SYN to [VIP6]:80 -> a back-end, MACs changed, tc/flow label kept",
         inputs={"client": [from_client() / syn(VIP6, 40900, **MARKED)]},
         expect={"server": [via_backend("f", syn(VIP6, 40900, **MARKED))]},
         counters={"dsr_forwarded": 1, "flows_created": 1}),
    Case("dsr_flow_keeps_backend", "SYN then data of one IPv6 flow: same back-end",
         inputs={"client": [from_client() / syn(VIP6, 40902), from_client() / ack(VIP6, 40902)]},
         expect={"server": [via_backend("f", syn(VIP6, 40902)), via_backend("f", ack(VIP6, 40902))]},
         counters={"dsr_forwarded": 2, "flows_created": 1}),
    Case("nat_syn", "SYN to [VIP6_NAT]:80 -> [back-end]:8080, TCP checksum valid",
         inputs={"client": [from_client() / syn(VIP6_NAT, 40901, **MARKED)]},
         expect={"server": [to_nat("f", lambda b: syn(b.ip6, 40901, 8080, **MARKED))]},
         counters={"nat_forwarded": 1, "flows_created": 1}),
    Case("nat_reply", "[b11]:8080 -> client comes out from [VIP6_NAT]:80, hop limit - 1",
         inputs={"server": [from_backend(B11) / SYNACK(B11.ip6, 8080)]},
         expect={"client": [to_client() / SYNACK(VIP6_NAT, 80, hlim=63)]},
         counters={"nat_reversed": 1, "transit_forwarded": 1}),
    Case("reset_syn", "SYN to [VIP6]:81 -> RST|ACK, ack = SEG.SEQ + 1",
         inputs={"client": [from_client() / syn(VIP6, 40903, 81)]},
         expect={"client": [to_client() / reset(40903, "RA", ack=1001)]},
         counters={"resets_sent": 1}),
    Case("reset_data", "data with ACK to [VIP6]:81 -> RST, seq = SEG.ACK",
         inputs={"client": [from_client() / ack(VIP6, 40904, 81)]},
         expect={"client": [to_client() / reset(40904, "R", seq=5001)]},
         counters={"resets_sent": 1}),
    Case("dsr_destination_options", "destination options before TCP: found, forwarded untouched",
         inputs={"client": [from_client() / with_ext(syn(VIP6, 40905), DESTOPT)]},
         expect={"server": [via_backend("f", with_ext(syn(VIP6, 40905), DESTOPT))]},
         counters={"dsr_forwarded": 1, "flows_created": 1}),
    Case("dsr_hop_by_hop_and_destination_options", "hop-by-hop then destination options",
         inputs={"client": [from_client() / with_ext(syn(VIP6, 40906), HOPBYHOP, DESTOPT)]},
         expect={"server": [via_backend("f", with_ext(syn(VIP6, 40906), HOPBYHOP, DESTOPT))]},
         counters={"dsr_forwarded": 1, "flows_created": 1}),
    Case("nat_destination_options", "nat through destination options: rewritten, checksum valid",
         inputs={"client": [from_client() / with_ext(ack(VIP6_NAT, 40907), DESTOPT),
                            from_client() / with_ext(syn(VIP6_NAT, 40907), DESTOPT)]},
         expect={"server": [to_nat("f", lambda b: with_ext(ack(b.ip6, 40907, 8080), DESTOPT)),
                            to_nat("f", lambda b: with_ext(syn(b.ip6, 40907, 8080), DESTOPT))]},
         # The ACK opened an established entry (consistent); the SYN after it is a new connection.
         counters={"nat_forwarded": 2, "flows_created": 2, "flows_consistent": 1,
                   "flows_reused": 1}),
    Case("reset_destination_options", "SYN with destination options to [VIP6]:81: plain RST|ACK",
         inputs={"client": [from_client() / with_ext(syn(VIP6, 40908, 81), DESTOPT)]},
         expect={"client": [to_client() / reset(40908, "RA", ack=1001)]},
         counters={"resets_sent": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_ipv6(case, results):
    golden.check(case, results[case.name])
