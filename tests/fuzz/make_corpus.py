#!/usr/bin/python3
"""Writes the seed corpora of the packet fuzz targets (tests/fuzz/corpus/{parse,pipeline,burst}/).

The frames match the embedded configuration of pipeline_fuzz.cc (port MACs, VIPs, back-ends).
A pipeline seed is one control byte (bits 0-1: in_port, bits 2-7: clock step) then the frame;
a parse seed is the frame alone; a burst seed is several records [control][length][frame]
(control bit 0: port, bit 1: the burst ends here), a flow's segments in one burst.
Run: /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import os

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, TCPerror, UDPerror
from scapy.layers.inet6 import (ICMPv6DestUnreach, ICMPv6EchoRequest, ICMPv6PacketTooBig,
                                IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop)
from scapy.layers.l2 import ARP, Ether

CLIENT_PORT = "02:00:00:00:00:01"
SERVER_PORT = "02:00:00:00:01:01"
CLIENT = "02:00:00:00:00:02"
BACKEND = "02:00:00:00:01:0a"


def c(p):  # a frame arriving on the client port
    return Ether(src=CLIENT, dst=CLIENT_PORT) / p


def s(p):  # a frame arriving on the server port
    return Ether(src=BACKEND, dst=SERVER_PORT) / p


# name -> (in_port, frame)
FRAMES = {
    "tcp_syn_dsr": (0, c(IP(src="198.18.0.2", dst="198.18.100.1") /
                         TCP(sport=40000, dport=80, flags="S", seq=1000))),
    "tcp_ack_dsr": (0, c(IP(src="198.18.0.2", dst="198.18.100.1") /
                         TCP(sport=40000, dport=80, flags="A", seq=1001, ack=5) / b"GET /")),
    "tcp_syn_nat": (0, c(IP(src="198.18.0.2", dst="198.18.100.1", options=b"\x01\x01\x01\x00") /
                         TCP(sport=40001, dport=8080, flags="S"))),
    "tcp_syn_unserved": (0, c(IP(src="198.18.0.2", dst="198.18.100.1") /
                              TCP(sport=40002, dport=22, flags="S"))),
    "tcp_nat_reply": (1, s(IP(src="198.18.1.10", dst="198.18.0.2") /
                           TCP(sport=8000, dport=40001, flags="SA"))),
    "udp_dns_nat": (0, c(IP(src="198.18.0.2", dst="198.18.100.2") /
                         UDP(sport=5000, dport=53) / b"\x12\x34\x01\x00")),
    "udp_unserved": (0, c(IP(src="198.18.0.2", dst="198.18.100.2") / UDP(sport=5000, dport=54))),
    "udp_nat_reply": (1, s(IP(src="198.18.1.10", dst="198.18.0.2") /
                           UDP(sport=5353, dport=5000) / b"answer")),
    "icmp_echo": (0, c(IP(src="198.18.0.2", dst="198.18.100.1") / ICMP(id=7, seq=1) / b"ping")),
    "icmp_frag_needed": (0, c(IP(src="198.18.0.254", dst="198.18.100.1") /
                              ICMP(type=3, code=4, nexthopmtu=1400) /
                              IPerror(src="198.18.100.1", dst="198.18.0.2") /
                              TCPerror(sport=80, dport=40000, flags="A"))),
    "icmp_unreach_nat": (0, c(IP(src="198.18.0.254", dst="198.18.100.2") /
                              ICMP(type=3, code=3) /
                              IPerror(src="198.18.100.2", dst="198.18.0.2") /
                              UDPerror(sport=53, dport=5000))),
    "transit": (0, c(IP(src="198.18.0.2", dst="203.0.113.5", ttl=9) / UDP(sport=1, dport=2))),
    "ttl_expiring": (0, c(IP(src="198.18.0.2", dst="203.0.113.5", ttl=1) / UDP(sport=1, dport=2))),
    "own_address": (0, c(IP(src="198.18.0.2", dst="198.18.0.1") / ICMP())),
    "arp": (0, Ether(src=CLIENT, dst="ff:ff:ff:ff:ff:ff") /
            ARP(hwsrc=CLIENT, psrc="198.18.0.2", pdst="198.18.0.1")),
    "ipv4_fragment": (0, c(IP(src="198.18.0.2", dst="198.18.100.1", flags="MF") /
                           TCP(sport=40003, dport=80, flags="S"))),
    "ipv6_tcp_syn": (0, c(IPv6(src="2001:2:0:1::2", dst="2001:2:0:100::1") /
                          TCP(sport=40000, dport=80, flags="S"))),
    "ipv6_ext_udp_nat": (0, c(IPv6(src="2001:2:0:1::2", dst="2001:2:0:100::2") /
                              IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
                              UDP(sport=5000, dport=53) / b"q")),
    "ipv6_fragment": (0, c(IPv6(src="2001:2:0:1::2", dst="2001:2:0:100::1") /
                           IPv6ExtHdrFragment(m=1, id=9) / TCP(sport=40004, dport=80, flags="S"))),
    "ipv6_echo": (0, c(IPv6(src="2001:2:0:1::2", dst="2001:2:0:100::1") /
                       ICMPv6EchoRequest(id=1, seq=2, data=b"ping6"))),
    "ipv6_packet_too_big": (0, c(IPv6(src="2001:2:0:1::fe", dst="2001:2:0:100::1") /
                                 ICMPv6PacketTooBig(mtu=1280) /
                                 IPv6(src="2001:2:0:100::1", dst="2001:2:0:1::2") /
                                 TCP(sport=8080, dport=40005, flags="A"))),
    "ipv6_unreach_udp": (0, c(IPv6(src="2001:2:0:1::fe", dst="2001:2:0:100::2") /
                              ICMPv6DestUnreach(code=4) /
                              IPv6(src="2001:2:0:100::2", dst="2001:2:0:1::2") /
                              UDP(sport=53, dport=5000))),
    "ipv6_nat_reply": (1, s(IPv6(src="2001:2:0:2::10", dst="2001:2:0:1::2") /
                            UDP(sport=5353, dport=5000) / b"a")),
}


def record(in_port, frame, ends_burst=False):
    raw = bytes(frame)[:255]
    return bytes([in_port | (2 if ends_burst else 0), len(raw)]) + raw


def tcp_flow(sport, dport, vip, flags):
    return [(0, c(IP(src="198.18.0.2", dst=vip) / TCP(sport=sport, dport=dport, flags=f, seq=9)))
            for f in flags]


# name -> records: a flow's segments inside one burst, and a reply after it.
BURSTS = {
    "dsr_handshake_one_burst": tcp_flow(41000, 80, "198.18.100.1", ["S", "A", "PA", "FA", "S", "A"]),
    "nat_proxy_one_burst": tcp_flow(41001, 8080, "198.18.100.1", ["S", "A", "PA", "R", "S"]) +
    [(1, s(IP(src="198.18.1.10", dst="198.18.0.2") / TCP(sport=8000, dport=41001, flags="SA")))],
    "v6_proxy_one_burst": [(0, c(IPv6(src="2001:2:0:1::2", dst="2001:2:0:100::1") /
                                 TCP(sport=41002, dport=8080, flags=f))) for f in ["S", "A", "SA", ""]],
    "mixed": [(p, f) for _, (p, f) in sorted(FRAMES.items())],
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(here, "corpus", "burst"), exist_ok=True)
    for name, records in BURSTS.items():
        with open(os.path.join(here, "corpus", "burst", name), "wb") as f:
            f.write(b"".join(record(p, frame) for p, frame in records))
    for target in ("parse", "pipeline"):
        os.makedirs(os.path.join(here, "corpus", target), exist_ok=True)
    for name, (in_port, frame) in sorted(FRAMES.items()):
        raw = bytes(frame)
        with open(os.path.join(here, "corpus", "parse", name), "wb") as f:
            f.write(raw)
        with open(os.path.join(here, "corpus", "pipeline", name), "wb") as f:
            f.write(bytes([in_port]) + raw)
    print(f"wrote {len(FRAMES)} frames to corpus/parse and corpus/pipeline, "
          f"{len(BURSTS)} runs to corpus/burst")


if __name__ == "__main__":
    main()
