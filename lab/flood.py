#!/usr/bin/env python3
"""A paced flood of spoofed TCP segments: run inside the client namespace (ip netns exec <P>-cli).

  flood.py DST PORT --pps 50000 --seconds 20 [--flags S] [--sources 198.19.0.0/16]

Sends TCP segments with the given flags (S: SYN, SA: SYN+ACK, A: ACK) to DST:PORT at --pps
packets a second for --seconds, each from a random address of --sources (a prefix of the lab's
range that no namespace routes, so the back-ends' answers die at the load balancer), a random
source port and a random sequence number. Prints one JSON object: sent, errors, seconds, pps.

Why not hping3: hping3 has two speeds, --flood (as fast as the sending CPU goes, which on a
two-core lab is faster than the lab's own kernels carry, so the kernel drops frames, real
clients' among them, before the load balancer sees them) and -i (a sleep per packet, whose timer
slack caps it near 20 000 a second whatever the interval). A test of what the load balancer does
under a flood needs a rate that it can be shown to take whole: this script paces batches against
the clock. Stops at --seconds, on SIGINT or SIGTERM, and always prints its count.
"""
import argparse
import ipaddress
import json
import random
import signal
import socket
import struct
import sys
import time

FLAGS = {"S": 0x02, "SA": 0x12, "A": 0x10, "R": 0x04}
LAB_RANGE = "198.18.0.0/15"  # the lab rule: no address outside it, spoofed or not
BATCH_SECONDS = 0.002  # one batch every 2 ms: the pacing's granularity


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


class Segments:
    """Builds IPv4+TCP segments with a random source, port and sequence number. The kernel fills
    the IP total length, id and header checksum (IPPROTO_RAW); the TCP checksum is the fixed
    part's sum, computed once, plus the random fields."""

    def __init__(self, dst, port, flags, sources):
        self.net = ipaddress.IPv4Network(sources)
        self.base = int(self.net.network_address)
        self.span = self.net.num_addresses
        self.dst = socket.inet_aton(dst)
        self.port = port
        self.flags = FLAGS[flags]
        d = struct.unpack("!HH", self.dst)
        # pseudo-header (dst, protocol, TCP length) + dport, data offset and flags, window
        self.fixed = d[0] + d[1] + socket.IPPROTO_TCP + 20 + port + ((5 << 12) | self.flags) + 64240
        self.buf = bytearray(40)

    def next(self):
        src = self.base + random.randrange(self.span)
        sport = random.randrange(1024, 65536)
        seq = random.getrandbits(32)
        ack = random.getrandbits(32) if self.flags & 0x10 else 0
        s = (self.fixed + (src >> 16) + (src & 0xFFFF) + sport + (seq >> 16) + (seq & 0xFFFF)
             + (ack >> 16) + (ack & 0xFFFF))
        csum = ~fold(s) & 0xFFFF
        struct.pack_into("!BBHHHBBHI4s", self.buf, 0, 0x45, 0, 40, 0, 0x4000, 64,
                         socket.IPPROTO_TCP, 0, src, self.dst)
        struct.pack_into("!HHIIBBHHH", self.buf, 20, sport, self.port, seq, ack, 5 << 4,
                         self.flags, 64240, csum, 0)
        return self.buf


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dst")
    p.add_argument("port", type=int)
    p.add_argument("--pps", type=int, default=50000)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--flags", choices=sorted(FLAGS), default="S")
    p.add_argument("--sources", default="198.19.0.0/16")
    a = p.parse_args()
    if a.pps <= 0 or a.seconds <= 0:
        p.error("--pps and --seconds must be positive")
    lab = ipaddress.IPv4Network(LAB_RANGE)
    try:
        if not ipaddress.IPv4Network(a.sources).subnet_of(lab) or ipaddress.IPv4Address(a.dst) not in lab:
            p.error("--sources and DST must lie in the lab's range %s" % LAB_RANGE)
    except ValueError as e:
        p.error(str(e))

    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(1))
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    seg = Segments(a.dst, a.port, a.flags, a.sources)
    target = (a.dst, 0)
    batch = max(1, round(a.pps * BATCH_SECONDS))
    sent = errors = 0
    start = time.monotonic()
    end = start + a.seconds
    due = start
    while not stop:
        now = time.monotonic()
        if now >= end:
            break
        if due > now:
            time.sleep(due - now)
            continue
        for _ in range(batch):
            try:
                sock.sendto(seg.next(), target)
                sent += 1
            except OSError:  # ENOBUFS and the like: the sender's own queue is full
                errors += 1
        due += batch / a.pps
        if due < now - 0.1:  # fell behind (descheduled): no catch-up burst beyond 100 ms
            due = now
    elapsed = time.monotonic() - start
    json.dump({"sent": sent, "errors": errors, "seconds": round(elapsed, 3),
               "pps": round(sent / elapsed) if elapsed > 0 else 0}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
