"""UDP: served ports forwarded (every datagram may open a flow), unserved ports dropped or, when
configured, answered with an ICMP port unreachable quoting the datagram (within 576 / 1280 bytes)."""
import pytest

import golden
from golden import (CLIENT4, CLIENT6, VIP4, VIP6, Case, from_client, to_client, udp,
                    via_backend)
from scapy.all import ICMP, IP, ICMPv6DestUnreach, IPv6, Raw

UNREACHABLE = {"icmp": {"udp_port_unreachable": True}}
FLOW = [udp(CLIENT4, VIP4, 40701, 53, load=b"q%d" % i) for i in range(3)]
OTHER = udp(CLIENT4, VIP4, 40702, 53)
BIG4 = udp(CLIENT4, VIP4, 40705, 54, load=bytes(range(256)) * 4)
BIG6 = udp(CLIENT6, VIP6, 40706, 54, load=bytes(range(256)) * 6)


def unreachable4(quote):
    return to_client() / IP(src=VIP4, dst=CLIENT4, ttl=64, id=0, flags="DF") / \
        ICMP(type=3, code=3) / quote


def unreachable6(quote):
    return to_client() / IPv6(src=VIP6, dst=CLIENT6, hlim=64) / ICMPv6DestUnreach(code=4) / quote


CASES = [
    Case("served_port_forwarded", "UDP to the dsr VIP:53 goes to a back-end, MACs changed",
         inputs={"client": [from_client() / udp(CLIENT4, VIP4, 40700, 53)]},
         expect={"server": [via_backend("f", udp(CLIENT4, VIP4, 40700, 53))]},
         counters={"dsr_forwarded": 1, "flows_created": 1}),
    Case("datagrams_keep_backend", "three datagrams of a flow, one of another: per-flow back-end",
         inputs={"client": [from_client() / p for p in (FLOW[0], OTHER, FLOW[1], FLOW[2])]},
         expect={"server": [via_backend("f", FLOW[0]), via_backend("g", OTHER),
                            via_backend("f", FLOW[1]), via_backend("f", FLOW[2])]},
         counters={"dsr_forwarded": 4, "flows_created": 2}),
    Case("served_port_ipv6", "UDP to [VIP6]:53 goes to a back-end",
         inputs={"client": [from_client() / udp(CLIENT6, VIP6, 40703, 53)]},
         expect={"server": [via_backend("f", udp(CLIENT6, VIP6, 40703, 53))]},
         counters={"dsr_forwarded": 1, "flows_created": 1}),
    Case("unserved_port_dropped", "UDP to VIP:54: dropped silently by default",
         inputs={"client": [from_client() / udp(CLIENT4, VIP4, 40704, 54)]},
         expect={}, drops={"unserved_udp": 1}),
    Case("port_unreachable", "with icmp.udp_port_unreachable: ICMP 3/3 quoting the datagram",
         config=UNREACHABLE,
         inputs={"client": [from_client() / udp(CLIENT4, VIP4, 40704, 54)]},
         expect={"client": [unreachable4(udp(CLIENT4, VIP4, 40704, 54))]},
         counters={"port_unreachables": 1}),
    Case("port_unreachable_quote_limited", "a 1052-byte datagram: the error stays within 576 bytes",
         config=UNREACHABLE,
         inputs={"client": [from_client() / BIG4]},
         expect={"client": [unreachable4(Raw(bytes(BIG4)[:576 - 28]))]},
         counters={"port_unreachables": 1}),
    Case("port_unreachable_ipv6", "IPv6: ICMPv6 1/4 quoting the datagram",
         config=UNREACHABLE,
         inputs={"client": [from_client() / udp(CLIENT6, VIP6, 40704, 54)]},
         expect={"client": [unreachable6(udp(CLIENT6, VIP6, 40704, 54))]},
         counters={"port_unreachables": 1}),
    Case("port_unreachable_ipv6_quote_limited", "IPv6: the error stays within 1280 bytes",
         config=UNREACHABLE,
         inputs={"client": [from_client() / BIG6]},
         expect={"client": [unreachable6(Raw(bytes(BIG6)[:1280 - 48]))]},
         counters={"port_unreachables": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_udp(case, results):
    golden.check(case, results[case.name])
