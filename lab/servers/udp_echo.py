#!/usr/bin/env python3
"""Lab back-end UDP echo: answers every datagram with b"<name> <payload>", IPv4 and IPv6.

The answer leaves from the address the datagram was sent to (IP_PKTINFO / IPV6_PKTINFO), so in
DSR mode, where the VIP is on lo, the client gets its answer from the VIP and not from the
back-end's own address.

Usage: udp_echo.py --name be2 [--port 53]
"""
import argparse
import selectors
import signal
import socket
import struct
import sys

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux value; Python 3.11 lacks the constant


def open_socket(family, port):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s.bind(("::", port))
    else:
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.bind(("0.0.0.0", port))
    s.setblocking(False)
    return s


def answer(s, name):
    try:
        data, anc, _flags, peer = s.recvmsg(65535, 256)
    except BlockingIOError:
        return
    reply = name + b" " + data
    out = []
    for level, typ, val in anc:
        if level == socket.IPPROTO_IP and typ == IP_PKTINFO:
            # struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }: reply from addr
            _ifindex, _spec, dst = struct.unpack("i4s4s", val[:12])
            out = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("i4s4s", 0, dst, b"\0" * 4))]
        elif level == socket.IPPROTO_IPV6 and typ == socket.IPV6_PKTINFO:
            # struct in6_pktinfo { in6_addr addr; int ifindex; }
            dst = val[:16]
            out = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, dst + struct.pack("i", 0))]
    try:
        s.sendmsg([reply], out, 0, peer)
    except OSError as e:
        print("send to %s failed: %s" % (peer, e), file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--port", type=int, default=53)
    a = ap.parse_args()
    name = a.name.encode()
    sel = selectors.DefaultSelector()
    for fam in (socket.AF_INET, socket.AF_INET6):
        sel.register(open_socket(fam, a.port), selectors.EVENT_READ)
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("%s: udp echo on port %d ready" % (a.name, a.port), flush=True)
    while running[0]:
        for key, _ in sel.select(timeout=0.5):
            answer(key.fileobj, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
