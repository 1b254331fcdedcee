"""Fragmented datagrams to services: reassembled per worker (rte_ip_frag), decided whole, split
again for the egress port's MTU (1500 on net_pcap). In order, out of order, IPv4 and IPv6, dsr and
nat both ways; what rte_ip_frag refuses (overlaps, repeats, a missing piece timing out, too many
held, too big) is dropped and counted by reason.

The first fragment's UDP checksum covers the whole datagram: expected frames are dissected from
bytes, so every checksum in them is compared as a value (the nat ones are scapy's own sums over
the rewritten datagram, which fairwayd's incremental update must equal)."""
import pytest

import golden
from golden import (B11, B12, CLIENT4, CLIENT6, NAT_BACKENDS, VIP4, VIP4_NAT, VIP6, VIP6_NAT,
                    Case, Pick, from_backend, from_client, service, to_backend, to_client,
                    via_backend)
from scapy.all import (IP, UDP, IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, Raw, fragment,
                       fragment6)

PAYLOAD = bytes(range(256)) * 12  # 3072 bytes: three fragments at an MTU of 1500
COUNTERS_DSR = {"fragments_held": 3, "datagrams_reassembled": 1, "fragments_sent": 3,
                "dsr_forwarded": 1, "flows_created": 1}


def udp4(src, dst, sport, dport, ttl=64, ident=7, load=PAYLOAD):
    return IP(src=src, dst=dst, ttl=ttl, id=ident) / UDP(sport=sport, dport=dport) / Raw(load)


def udp6(src, dst, sport, dport, hlim=64, ident=7, load=PAYLOAD):
    return (IPv6(src=src, dst=dst, hlim=hlim) / IPv6ExtHdrFragment(id=ident) /
            UDP(sport=sport, dport=dport) / Raw(load))


def pieces4(pkt, size=1480):
    """The IPv4 fragments of `pkt`, each re-read from bytes (every field, checksums included)."""
    whole = IP(bytes(pkt))
    return [IP(bytes(f)) for f in fragment(whole, fragsize=size)]


def pieces6(pkt, mtu=1500):
    whole = IPv6(bytes(pkt))
    return [IPv6(bytes(f)) for f in fragment6(whole, mtu)]


def via(var, frags, candidates=golden.BACKENDS):
    return [via_backend(var, f, candidates) for f in frags]


IN4 = pieces4(udp4(CLIENT4, VIP4, 40900, 53))
IN6 = pieces6(udp6(CLIENT6, VIP6, 40901, 53))
# nat: in to b:5353 (destination and port rewritten), the reply from b:5353 back as VIP:53
NAT_IN = pieces4(udp4(CLIENT4, VIP4_NAT, 40902, 53))
NAT_OUT = lambda b: pieces4(udp4(CLIENT4, b.ip4, 40902, 5353))  # noqa: E731
REPLY = pieces4(udp4(B11.ip4, CLIENT4, 5353, 40903, ident=99))
REPLY_OUT = pieces4(udp4(VIP4_NAT, CLIENT4, 53, 40903, ttl=63, ident=99))
NAT6_IN = pieces6(udp6(CLIENT6, VIP6_NAT, 40906, 53))
NAT6_OUT = lambda b: pieces6(udp6(CLIENT6, b.ip6, 40906, 5353))  # noqa: E731
REPLY6 = pieces6(udp6(B12.ip6, CLIENT6, 5353, 40907, ident=0x12345678))
REPLY6_OUT = pieces6(udp6(VIP6_NAT, CLIENT6, 53, 40907, hlim=63, ident=0x12345678))
SERVICES = golden.SERVICES + [service("dns6-nat", VIP6_NAT, 53, (B11, B12), protocol="udp",
                                      mode="nat", backend_port=5353)]
# A second fragment overlapping the first by 8 bytes.
OVERLAP = IP(bytes(IN4[1]))
OVERLAP.frag -= 1
del OVERLAP.chksum
FLOOD = [from_client() / IP(src=CLIENT4, dst=VIP4, id=1000 + i, proto=17, frag=10, flags="MF") /
         Raw(b"f" * 64) for i in range(70)]


def nat_pick(var, make):
    return [Pick(var, NAT_BACKENDS, lambda b, i=i: to_backend(b) / make(b)[i])
            for i in range(len(make(NAT_BACKENDS[0])))]


CASES = [
    Case("udp4_in_order", "a 3072-byte datagram in three fragments to the dsr VIP:53: one back-end",
         inputs={"client": [from_client() / f for f in IN4]},
         expect={"server": via("f", IN4)}, counters=COUNTERS_DSR),
    Case("udp4_out_of_order", "the same fragments last, first, middle: sent in order once whole",
         inputs={"client": [from_client() / f for f in (IN4[2], IN4[0], IN4[1])]},
         expect={"server": via("f", IN4)}, counters=COUNTERS_DSR),
    Case("udp4_flow_kept", "a whole datagram, then a fragmented one of the same 5-tuple: same back-end",
         inputs={"client": [from_client() / udp4(CLIENT4, VIP4, 40900, 53, load=b"hello")] +
                 [from_client() / f for f in IN4]},
         expect={"server": [via_backend("f", udp4(CLIENT4, VIP4, 40900, 53, load=b"hello"))] +
                 via("f", IN4)},
         counters={**COUNTERS_DSR, "dsr_forwarded": 2}),
    Case("udp6_in_order", "IPv6: fragment headers, reassembled, split again with the same id",
         inputs={"client": [from_client() / f for f in IN6]},
         expect={"server": via("f", IN6)}, counters=COUNTERS_DSR),
    Case("udp6_out_of_order", "IPv6, the last fragment first",
         inputs={"client": [from_client() / f for f in (IN6[2], IN6[1], IN6[0])]},
         expect={"server": via("f", IN6)}, counters=COUNTERS_DSR),
    Case("nat_in", "nat: every fragment's destination rewritten, port and checksum in the first",
         inputs={"client": [from_client() / f for f in NAT_IN]},
         expect={"server": nat_pick("f", NAT_OUT)},
         counters={"fragments_held": 3, "datagrams_reassembled": 1, "fragments_sent": 3,
                   "nat_forwarded": 1, "flows_created": 1}),
    Case("nat_reply", "nat: a back-end's fragmented reply leaves as VIP:53, TTL-1, checksum right",
         inputs={"server": [from_backend(B11) / f for f in (REPLY[1], REPLY[0], REPLY[2])]},
         expect={"client": [to_client() / f for f in REPLY_OUT]},
         counters={"fragments_held": 3, "datagrams_reassembled": 1, "fragments_sent": 3,
                   "nat_reversed": 1, "transit_forwarded": 1}),
    Case("nat6_in", "nat, IPv6: destination and port rewritten, the checksum over the datagram",
         inputs={"client": [from_client() / f for f in (NAT6_IN[1], NAT6_IN[0], NAT6_IN[2])]},
         expect={"server": nat_pick("f", NAT6_OUT)},
         counters={"fragments_held": 3, "datagrams_reassembled": 1, "fragments_sent": 3,
                   "nat_forwarded": 1, "flows_created": 1}),
    Case("nat6_reply", "nat, IPv6: the reply from b12:5353 leaves as [VIP]:53, same fragment id",
         inputs={"server": [from_backend(B12) / f for f in (REPLY6[2], REPLY6[0], REPLY6[1])]},
         expect={"client": [to_client() / f for f in REPLY6_OUT]},
         counters={"fragments_held": 3, "datagrams_reassembled": 1, "fragments_sent": 3,
                   "nat_reversed": 1, "transit_forwarded": 1}),
    Case("two_workers", "fragments on the second worker's queue are reassembled there",
         workers=2, inputs={"client:1": [from_client() / f for f in (IN4[1], IN4[2], IN4[0])]},
         expect={"server:1": via("f", IN4)},
         worker_counters={1: COUNTERS_DSR}, counters=COUNTERS_DSR),
    Case("overlap_dropped", "a fragment overlapping the first: the whole datagram is dropped",
         inputs={"client": [from_client() / f for f in (IN4[0], OVERLAP, IN4[2])]},
         expect={}, counters={"fragments_held": 3}, drops={"fragment_invalid": 3}),
    Case("repeated_first_dropped", "the first fragment twice: the datagram is dropped",
         inputs={"client": [from_client() / f for f in (IN4[0], IN4[0], IN4[1], IN4[2])]},
         expect={}, counters={"fragments_held": 4}, drops={"fragment_invalid": 2}),
    Case("missing_last_times_out", "no last fragment: both pieces dropped after the timeout",
         config={"fragments": {"timeout": "50ms"}},
         inputs={"client": [from_client() / f for f in IN4[:2]]},
         expect={}, counters={"fragments_held": 2}, drops={"fragment_timeout": 2}),
    Case("held_limit", "70 fragments of distinct datagrams, 64 may be held: 6 dropped",
         config={"fragments": {"max_fragments": 64}},
         inputs={"client": FLOOD}, expect={}, counters={"fragments_held": 70},
         drops={"fragment_limit": 6}),
    Case("oversized", "a fragment reaching past 65 535 bytes",
         inputs={"client": [from_client() / IP(src=CLIENT4, dst=VIP4, id=5, proto=17, frag=8180) /
                            Raw(b"x" * 200)]},
         expect={}, drops={"fragment_oversized": 1}),
    Case("ipv6_fragment_header_not_first", "IPv6: a hop-by-hop header before the fragment header",
         inputs={"client": [from_client() / IPv6(src=CLIENT6, dst=VIP6) / IPv6ExtHdrHopByHop() /
                            IPv6ExtHdrFragment(id=3, m=1) / UDP(sport=40905, dport=53) /
                            Raw(b"x" * 64)]},
         expect={}, drops={"fragment_unsupported": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_fragments(case, results):
    golden.check(case, results[case.name])
