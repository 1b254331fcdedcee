"""Transit: what is neither ours nor a VIP nor a nat reply is routed like a router does: TTL /
hop limit - 1 with the checksum updated, MACs rewritten to the next hop's; what a router cannot
forward goes to the kernel, which is not there (exception_path: false) -> no_exception_path."""
import pytest

import golden
from golden import (B11, B12, B13, CLIENT4, CLIENT6, VIP4, VIP6, Case, from_backend,
                    from_client, tcp, to_backend, to_client, to_router)
from scapy.all import ARP, Ether

REMOTE4, REMOTE6 = "198.19.7.7", "2001:2:0:9::7"


def reply(src, dst, ttl, **kw):
    """A dsr back-end's answer, sent from the VIP straight to the client through us."""
    return tcp(src, dst, 80, 41100, "SA", seq=5000, ack=1001, ttl=ttl, **kw)


def dropped(name, description, port, frame, reason="no_exception_path"):
    return Case(name, description, inputs={port: [frame]}, expect={}, drops={reason: 1})


OPTIONS = b"\x01\x01\x01\x00"  # NOP NOP NOP EOL

CASES = [
    Case("dsr_reply_to_client", "VIP:80 -> client from b11: TTL 63, checksum valid, client's MAC",
         inputs={"server": [from_backend(B11) / reply(VIP4, CLIENT4, 64)]},
         expect={"client": [to_client() / reply(VIP4, CLIENT4, 63)]},
         counters={"transit_forwarded": 1}),
    Case("dsr_reply_via_router", "VIP:80 -> a remote client: default route, the router's MAC",
         inputs={"server": [from_backend(B12) / reply(VIP4, REMOTE4, 64)]},
         expect={"client": [to_router() / reply(VIP4, REMOTE4, 63)]},
         counters={"transit_forwarded": 1}),
    Case("dsr_reply_ipv6", "[VIP6]:80 -> client: hop limit 63",
         inputs={"server": [from_backend(B11) / reply(VIP6, CLIENT6, 64)]},
         expect={"client": [to_client() / reply(VIP6, CLIENT6, 63)]},
         counters={"transit_forwarded": 1}),
    Case("dsr_reply_ipv6_via_router", "[VIP6]:80 -> a remote client: the IPv6 default route",
         inputs={"server": [from_backend(B13) / reply(VIP6, REMOTE6, 9)]},
         expect={"client": [to_router() / reply(VIP6, REMOTE6, 8)]},
         counters={"transit_forwarded": 1}),
    Case("client_to_backend", "client -> b13:22 (no VIP): routed to the server port",
         inputs={"client": [from_client() / tcp(CLIENT4, B13.ip4, 41101, 22, ttl=30)]},
         expect={"server": [to_backend(B13) / tcp(CLIENT4, B13.ip4, 41101, 22, ttl=29)]},
         counters={"transit_forwarded": 1}),
    Case("ttl_2_forwarded", "TTL 2 leaves with TTL 1",
         inputs={"server": [from_backend(B11) / reply(VIP4, CLIENT4, 2)]},
         expect={"client": [to_client() / reply(VIP4, CLIENT4, 1)]},
         counters={"transit_forwarded": 1}),
    Case("ipv4_options_routed", "with IPv4 options the header checksum is still right",
         inputs={"server": [from_backend(B11) / reply(VIP4, CLIENT4, 64, options=OPTIONS)]},
         expect={"client": [to_client() / reply(VIP4, CLIENT4, 63, options=OPTIONS)]},
         counters={"transit_forwarded": 1}),
    Case("checksum_becomes_zero", "a TTL decrement whose header checksum is 0x0000 (RFC 1624)",
         inputs={"server": [from_backend(B11) / reply(VIP4, CLIENT4, 64, id=35752)]},
         expect={"client": [to_client() / reply(VIP4, CLIENT4, 63, id=35752)]},
         counters={"transit_forwarded": 1}),
    Case("checksum_was_zero", "a TTL decrement from a header checksum of 0x0000",
         inputs={"server": [from_backend(B11) / reply(VIP4, CLIENT4, 64, id=35496)]},
         expect={"client": [to_client() / reply(VIP4, CLIENT4, 63, id=35496)]},
         counters={"transit_forwarded": 1}),
    dropped("ttl_1", "TTL 1: the kernel would send time exceeded; no exception path",
            "server", from_backend(B11) / reply(VIP4, CLIENT4, 1)),
    dropped("hop_limit_1", "IPv6 hop limit 1: same", "server",
            from_backend(B11) / reply(VIP6, CLIENT6, 1)),
    Case("nat_reply_ttl_1", "a nat reply with TTL 1: rewritten, then dropped like any TTL 1",
         inputs={"server": [from_backend(B11) / tcp(B11.ip4, CLIENT4, 8080, 41104, "SA", ttl=1)]},
         expect={}, counters={"nat_reversed": 1}, drops={"no_exception_path": 1}),
    dropped("unresolved_neighbor", "to 198.18.1.50, on-link without a neighbor: for the kernel",
            "client", from_client() / tcp(CLIENT4, "198.18.1.50", 41102, 22)),
    dropped("own_address", "to the client port's own address: for the kernel", "client",
            from_client() / tcp(CLIENT4, "198.18.0.1", 41103, 22)),
    Case("no_route", "with no default route, transit to 198.19.200.1 (a spoofed source's answer):"
         " dropped in the data plane, never handed to the kernel",
         inputs={"server": [from_backend(B11) / reply(VIP4, "198.19.200.1", 64)]},
         expect={}, drops={"no_route": 1}, config={"routes": []}),
    dropped("arp_request", "a broadcast ARP request: for the kernel", "client",
            Ether(src=from_client().src, dst="ff:ff:ff:ff:ff:ff") /
            ARP(hwsrc=from_client().src, psrc=CLIENT4, pdst="198.18.0.1")),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_transit(case, results):
    golden.check(case, results[case.name])
