"""ICMP for VIPs: echo answered; errors quoting a service flow (frag needed, packet too big) go
to that flow's back-end, rewritten for nat, so that path-MTU discovery works."""
import pytest

import golden
from golden import (CLIENT4, CLIENT6, NAT_BACKENDS, ROUTER4, ROUTER6, VIP4, VIP4_NAT, VIP6,
                    VIP6_NAT, Case, Pick, from_client, from_router, tcp, udp, to_backend, to_client,
                    via_backend)
from scapy.all import (ICMP, IP, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6PacketTooBig, IPv6,
                       IPv6ExtHdrDestOpt, PadN, Raw)

ECHO4 = IP(src=CLIENT4, dst=VIP4, id=77) / ICMP(type=8, id=0x1234, seq=7) / Raw(b"fairway-ping")
ECHO4_REPLY = IP(src=VIP4, dst=CLIENT4, ttl=64, id=0, flags="DF") / \
    ICMP(type=0, id=0x1234, seq=7) / Raw(b"fairway-ping")
ECHO6 = IPv6(src=CLIENT6, dst=VIP6) / ICMPv6EchoRequest(id=0x4321, seq=9, data=b"fairway-ping6")
ECHO6_REPLY = IPv6(src=VIP6, dst=CLIENT6, hlim=64) / \
    ICMPv6EchoReply(id=0x4321, seq=9, data=b"fairway-ping6")


def syn(client, vip, cport, dport=80):
    return tcp(client, vip, cport, dport, "S", seq=1000)


def synack(vip, client, cport, vport=80):
    """What the back-end sent (as the client saw it), quoted by a router in its error."""
    return tcp(vip, client, vport, cport, "SA", seq=5000, ack=1001, ttl=61,
               load=b"x" * 1300)


def frag_needed(vip, quote):
    """A router's ICMP 3/4 (MTU 1400) to the VIP, quoting `quote`."""
    return IP(src=ROUTER4, dst=vip, ttl=62, id=99) / ICMP(type=3, code=4, nexthopmtu=1400) / quote


def too_big(vip, quote):
    return IPv6(src=ROUTER6, dst=vip, hlim=62) / ICMPv6PacketTooBig(mtu=1280) / quote


SHORT = lambda pkt: Raw(bytes(pkt)[:28])  # the RFC 792 minimum: IP header + 8 bytes


def unreachable_from_client(vip, quote):
    """The client's own ICMP port unreachable about a datagram it got from the VIP."""
    return IP(src=CLIENT4, dst=vip, id=5) / ICMP(type=3, code=3) / quote


ECHO6_DESTOPT = IPv6(src=CLIENT6, dst=VIP6) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 4)]) \
    / ECHO6[ICMPv6EchoRequest]


def nat_error(var, make):
    return Pick(var, NAT_BACKENDS, lambda b: to_backend(b) / make(b))


CASES = [
    Case("echo_reply", "echo request to a VIP -> echo reply from the VIP, same id/seq/payload",
         inputs={"client": [from_client() / ECHO4]},
         expect={"client": [to_client() / ECHO4_REPLY]},
         counters={"echo_replies": 1}),
    Case("echo_reply_drops_ip_options", "echo request with an IP option: reply without options",
         inputs={"client": [from_client() / IP(src=CLIENT4, dst=VIP4, id=77,
                                                options=b"\x01\x01\x01\x00") / ECHO4[ICMP]]},
         expect={"client": [to_client() / ECHO4_REPLY]},
         counters={"echo_replies": 1}),
    Case("echo_reply_ipv6", "ICMPv6 echo request -> echo reply (type 129) from the VIP",
         inputs={"client": [from_client() / ECHO6]},
         expect={"client": [to_client() / ECHO6_REPLY]},
         counters={"echo_replies": 1}),
    Case("echo_reply_ipv6_destination_options", "ICMPv6 echo behind destination options: plain reply",
         inputs={"client": [from_client() / ECHO6_DESTOPT]},
         expect={"client": [to_client() / ECHO6_REPLY]},
         counters={"echo_replies": 1}),
    Case("other_protocol_to_vip", "GRE to a VIP: nothing serves it",
         inputs={"client": [from_client() / IP(src=CLIENT4, dst=VIP4, proto=47, id=1) / Raw(b"\0" * 8)]},
         expect={}, drops={"unserved_protocol": 1}),
    Case("echo_disabled", "icmp.echo_reply: false -> dropped, counted echo_disabled",
         config={"icmp": {"echo_reply": False}},
         inputs={"client": [from_client() / ECHO4]},
         expect={}, drops={"echo_disabled": 1}),
    Case("frag_needed_dsr", "ICMP 3/4 quoting VIP:80 -> client of a dsr flow: to its back-end",
         inputs={"client": [from_client() / syn(CLIENT4, VIP4, 40801),
                            from_router() / frag_needed(VIP4, synack(VIP4, CLIENT4, 40801))]},
         expect={"server": [via_backend("f", syn(CLIENT4, VIP4, 40801)),
                            via_backend("f", frag_needed(VIP4, synack(VIP4, CLIENT4, 40801)))]},
         counters={"dsr_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1}),
    Case("frag_needed_dsr_short_quote", "the same with only 28 bytes quoted (RFC 792 minimum)",
         inputs={"client": [from_client() / syn(CLIENT4, VIP4, 40802),
                            from_router() / frag_needed(VIP4, SHORT(synack(VIP4, CLIENT4, 40802)))]},
         expect={"server": [via_backend("f", syn(CLIENT4, VIP4, 40802)),
                            via_backend("f", frag_needed(VIP4, SHORT(synack(VIP4, CLIENT4,
                                                                            40802))))]},
         counters={"dsr_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1}),
    Case("time_exceeded_dsr", "ICMP 11/0 quoting a dsr flow's packet: to its back-end as well",
         inputs={"client": [from_client() / syn(CLIENT4, VIP4, 40809),
                            from_router() / IP(src=ROUTER4, dst=VIP4, id=3) / ICMP(type=11) /
                            synack(VIP4, CLIENT4, 40809)]},
         expect={"server": [via_backend("f", syn(CLIENT4, VIP4, 40809)),
                            via_backend("f", IP(src=ROUTER4, dst=VIP4, id=3) / ICMP(type=11) /
                                        synack(VIP4, CLIENT4, 40809))]},
         counters={"dsr_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1}),
    Case("port_unreachable_from_client_nat_udp",
         "the client's port unreachable about a nat UDP reply: quoted source -> back-end:5353",
         inputs={"client": [from_client() / udp(CLIENT4, VIP4_NAT, 40810, 53),
                            from_client() / unreachable_from_client(
                                VIP4_NAT, udp(VIP4_NAT, CLIENT4, 53, 40810, load=b"answer"))]},
         expect={"server": [
             nat_error("f", lambda b: udp(CLIENT4, b.ip4, 40810, 5353)),
             nat_error("f", lambda b: unreachable_from_client(
                 b.ip4, udp(b.ip4, CLIENT4, 5353, 40810, load=b"answer")))]},
         counters={"nat_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1}),
    Case("frag_needed_nat", "nat flow: outer dst -> back-end, quoted source -> back-end:8080",
         inputs={"client": [from_client() / syn(CLIENT4, VIP4_NAT, 40803),
                            from_router() / frag_needed(VIP4_NAT, synack(VIP4_NAT, CLIENT4, 40803))]},
         expect={"server": [
             nat_error("f", lambda b: tcp(CLIENT4, b.ip4, 40803, 8080, "S", seq=1000)),
             nat_error("f", lambda b: frag_needed(b.ip4, synack(b.ip4, CLIENT4, 40803, 8080)))]},
         counters={"nat_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1}),
    Case("frag_needed_nat_short_quote", "nat flow, 28 bytes quoted: the quoted port is rewritten",
         inputs={"client": [from_client() / syn(CLIENT4, VIP4_NAT, 40804),
                            from_router() / frag_needed(VIP4_NAT,
                                                        SHORT(synack(VIP4_NAT, CLIENT4, 40804)))]},
         expect={"server": [
             nat_error("f", lambda b: tcp(CLIENT4, b.ip4, 40804, 8080, "S", seq=1000)),
             nat_error("f", lambda b: frag_needed(b.ip4,
                                                  SHORT(synack(b.ip4, CLIENT4, 40804, 8080))))]},
         counters={"nat_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1}),
    Case("frag_needed_flow_on_other_worker",
         "the flow lives on worker 0, the error reaches worker 1: the Maglev choice, same back-end",
         workers=2,
         inputs={"client:0": [from_client() / syn(CLIENT4, VIP4, 40805)],
                 "client:1": [from_router() / frag_needed(VIP4, synack(VIP4, CLIENT4, 40805))]},
         expect={"server:0": [via_backend("f", syn(CLIENT4, VIP4, 40805))],
                 "server:1": [via_backend("f", frag_needed(VIP4, synack(VIP4, CLIENT4, 40805)))]},
         counters={"dsr_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1},
         worker_counters={0: {"dsr_forwarded": 1, "flows_created": 1},
                          1: {"icmp_errors_to_backend": 1}}),
    Case("frag_needed_unserved", "an error quoting VIP:81 (no service) is dropped",
         inputs={"client": [from_router() / frag_needed(VIP4, synack(VIP4, CLIENT4, 40806, 81))]},
         expect={}, drops={"icmp_error_no_flow": 1}),
    Case("packet_too_big_dsr", "ICMPv6 packet too big quoting [VIP6]:80: to the flow's back-end",
         inputs={"client": [from_client() / syn(CLIENT6, VIP6, 40807),
                            from_router() / too_big(VIP6, synack(VIP6, CLIENT6, 40807))]},
         expect={"server": [via_backend("f", syn(CLIENT6, VIP6, 40807)),
                            via_backend("f", too_big(VIP6, synack(VIP6, CLIENT6, 40807)))]},
         counters={"dsr_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1}),
    Case("packet_too_big_nat", "IPv6 nat flow: outer dst and quoted source rewritten, valid sums",
         inputs={"client": [from_client() / syn(CLIENT6, VIP6_NAT, 40808),
                            from_router() / too_big(VIP6_NAT, synack(VIP6_NAT, CLIENT6, 40808))]},
         expect={"server": [
             nat_error("f", lambda b: tcp(CLIENT6, b.ip6, 40808, 8080, "S", seq=1000)),
             nat_error("f", lambda b: too_big(b.ip6, synack(b.ip6, CLIENT6, 40808, 8080)))]},
         counters={"nat_forwarded": 1, "flows_created": 1, "icmp_errors_to_backend": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_icmp(case, results):
    golden.check(case, results[case.name])
