"""Malformed frames are dropped, counted by their reason, and nothing is sent; well-formed but
unusual ones (IPv4 options, Ethernet padding) still work."""
import pytest

import golden
from golden import (CLIENT4, CLIENT6, NAT_BACKENDS, ROUTER4, VIP4, VIP4_NAT, VIP6, Case, Pick,
                    from_client, from_router, tcp, to_backend, to_client, udp, via_backend)
from scapy.all import ICMP, IP, TCP, UDP, Ether, IPv6, IPv6ExtHdrDestOpt, Padding, Raw

SYN = tcp(CLIENT4, VIP4, 41001, 80, "S", seq=1000)
SYN6 = tcp(CLIENT6, VIP6, 41001, 80, "S", seq=1000)
RR = b"\x07\x07\x04" + b"\x00" * 4 + b"\x00"  # record route with one slot, end of options


def raw_after_eth(data: bytes, ethertype=0x0800):
    """An Ethernet frame to the client port whose L3 is `data`, as is."""
    return Ether(src=from_client().src, dst=from_client().dst, type=ethertype) / Raw(data)


def with_options(pkt):
    p = pkt.copy()
    p[IP].options = RR
    return p


def dropped(name, description, frame, reason):
    return Case(name, description, inputs={"client": [frame]}, expect={}, drops={reason: 1})


CASES = [
    dropped("truncated_ethernet", "a 10-byte frame", Raw(b"\x02\x00\x00\x00\x00\x01" + b"\0" * 4),
            "truncated_ethernet"),
    dropped("truncated_ipv4_header", "only 12 bytes of IPv4 header",
            raw_after_eth(bytes(SYN)[:12]), "truncated_ipv4"),
    dropped("bad_ipv4_version", "version 5 in an IPv4 ethertype",
            raw_after_eth(b"\x55" + bytes(SYN)[1:]), "bad_ipv4_version"),
    dropped("bad_ipv4_header_length", "IHL 4 (16 bytes)",
            from_client() / IP(src=CLIENT4, dst=VIP4, ihl=4, id=1) / TCP(sport=41001, dport=80),
            "bad_ipv4_header_length"),
    dropped("bad_ipv4_total_length", "total length 200 in a 54-byte frame",
            from_client() / IP(src=CLIENT4, dst=VIP4, len=200, id=1) / TCP(sport=41001, dport=80),
            "bad_ipv4_total_length"),
    dropped("bad_ipv4_checksum", "IPv4 header checksum 0x1234",
            from_client() / IP(src=CLIENT4, dst=VIP4, id=1, chksum=0x1234) / TCP(sport=41001,
                                                                                dport=80),
            "bad_ipv4_checksum"),
    dropped("truncated_tcp", "a 10-byte TCP header",
            from_client() / IP(src=CLIENT4, dst=VIP4, id=1, proto=6) / Raw(bytes(SYN[TCP])[:10]),
            "truncated_tcp"),
    dropped("tcp_data_offset_too_large", "data offset 15 (60 bytes) in a 20-byte segment",
            from_client() / IP(src=CLIENT4, dst=VIP4, id=1) / TCP(sport=41001, dport=80,
                                                                  dataofs=15),
            "bad_tcp_data_offset"),
    dropped("tcp_data_offset_too_small", "data offset 4 (16 bytes)",
            from_client() / IP(src=CLIENT4, dst=VIP4, id=1) / TCP(sport=41001, dport=80,
                                                                  dataofs=4),
            "bad_tcp_data_offset"),
    dropped("truncated_udp", "a 4-byte UDP header",
            from_client() / IP(src=CLIENT4, dst=VIP4, id=1, proto=17) / Raw(b"\xa0\x29\x00\x35"),
            "truncated_udp"),
    dropped("udp_length_mismatch", "UDP length 100 for a 13-byte datagram",
            from_client() / IP(src=CLIENT4, dst=VIP4, id=1) / UDP(sport=41001, dport=53, len=100)
            / Raw(b"query"), "bad_udp_length"),
    dropped("truncated_icmp_echo", "an echo request of 6 bytes",
            from_client() / IP(src=CLIENT4, dst=VIP4, id=1, proto=1) / Raw(b"\x08\x00\xf7\xff\x00\x00"),
            "truncated_icmp"),
    dropped("bad_icmp_quote", "a frag-needed to the VIP quoting 10 bytes",
            from_router() / IP(src=ROUTER4, dst=VIP4, id=1) / ICMP(type=3, code=4) /
            Raw(bytes(SYN)[:10]), "bad_icmp_quote"),
    dropped("truncated_ipv6", "30 bytes of IPv6 header",
            raw_after_eth(bytes(SYN6)[:30], 0x86DD), "truncated_ipv6"),
    dropped("bad_ipv6_payload_length", "payload length 500 in a short frame",
            from_client() / IPv6(src=CLIENT6, dst=VIP6, plen=500) / TCP(sport=41001, dport=80),
            "bad_ipv6_payload_length"),
    dropped("bad_ipv6_extension_header", "destination options claiming 88 bytes",
            from_client() / IPv6(src=CLIENT6, dst=VIP6) / IPv6ExtHdrDestOpt(len=10) /
            TCP(sport=41001, dport=80), "bad_ipv6_extension_header"),
    Case("later_fragment_to_service", "reassembly off: a non-first IPv4 fragment to VIP:80",
         inputs={"client": [from_client() / IP(src=CLIENT4, dst=VIP4, id=1, proto=6, frag=100) /
                            Raw(b"x" * 24)]},
         expect={}, drops={"fragment_to_service": 1}, config={"fragments": {"max_datagrams": 0}}),
    Case("first_fragment_to_service", "reassembly off: a first fragment (MF) of a TCP SYN to VIP:80",
         inputs={"client": [from_client() / IP(src=CLIENT4, dst=VIP4, id=1, flags="MF") /
                            TCP(sport=41001, dport=80, flags="S") / Raw(b"x" * 16)]},
         expect={}, drops={"fragment_to_service": 1}, config={"fragments": {"max_datagrams": 0}}),
    dropped("jumbo_frame", "a 3000-byte frame does not fit one mbuf",
            from_client() / tcp(CLIENT4, VIP4, 41005, 80, load=b"j" * 2946), "multi_segment_mbuf"),
    dropped("not_for_us", "a valid SYN to another unicast MAC",
            Ether(src=from_client().src, dst="02:00:00:00:99:99") / SYN, "not_for_us"),
    Case("ipv4_options_dsr", "IPv4 with a record-route option to a dsr VIP: forwarded as is",
         inputs={"client": [from_client() / with_options(SYN)]},
         expect={"server": [via_backend("f", with_options(SYN))]},
         counters={"dsr_forwarded": 1, "flows_created": 1}),
    Case("ipv4_options_nat", "IPv4 options to a nat VIP: TCP found after them, rewritten, valid",
         inputs={"client": [from_client() / with_options(tcp(CLIENT4, VIP4_NAT, 41002, 80))]},
         expect={"server": [Pick("f", NAT_BACKENDS, lambda b: to_backend(b) / with_options(
             tcp(CLIENT4, b.ip4, 41002, 8080)))]},
         counters={"nat_forwarded": 1, "flows_created": 1}),
    Case("ethernet_padding_nat", "a padded 60-byte UDP frame: checksums cover the datagram only",
         inputs={"client": [from_client() / udp(CLIENT4, VIP4_NAT, 41003, 53, load=b"q")
                            / Padding(b"\xee" * 9)]},
         expect={"server": [Pick("f", NAT_BACKENDS, lambda b: to_backend(b) /
                                 udp(CLIENT4, b.ip4, 41003, 5353, load=b"q") / Padding(b"\xee" * 9))]},
         counters={"nat_forwarded": 1, "flows_created": 1}),
    Case("ethernet_padding_reset", "a padded SYN to VIP:81: the reset is 54 bytes",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 41004, 81) / Padding(b"\0" * 6)]},
         expect={"client": [to_client() / tcp(VIP4, CLIENT4, 81, 41004, "RA", seq=0, ack=1001,
                                              window=0, id=0, ip_flags="DF")]},
         counters={"resets_sent": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_malformed(case, results):
    golden.check(case, results[case.name])
