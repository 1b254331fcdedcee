#!/usr/bin/env python3
"""Lab back-end HTTP server: HTTP/1.1 with keep-alive, IPv4 and IPv6, one or more ports.

The body of every response names the back-end and what it saw, one line:

    be2 client=198.18.0.2:43210 server=198.18.100.1:80 n=3

n counts the requests served on this TCP connection (1 for the first), so a test can prove that
all the requests of a keep-alive connection reached the same back-end over the same connection.
In DSR mode `server` is the VIP (it is on lo); in NAT mode it is the back-end's own address.

GET /fairway-stats answers the server's own figures for fairway-agent's --app-url, over the last
few seconds (all ports together; the /fairway-stats requests themselves are not counted):

    {"requests_per_second": 85.0, "mean_response_ms": 3.2}

Usage: http_server.py --name be2 --port 80 --port 8080 [--bind4 0.0.0.0] [--bind6 ::] [--work-ms 1.5]
"""
import argparse
import http.server
import json
import signal
import socket
import socketserver
import sys
import threading
import time


class RequestStats:
    """Requests served and their total handling time, in one-second buckets, thread-safe."""

    WINDOW = 5  # seconds

    def __init__(self):
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.buckets = {}  # int(monotonic second) -> [requests, total seconds]

    def record(self, seconds):
        now = time.monotonic()
        second = int(now)
        with self.lock:
            bucket = self.buckets.setdefault(second, [0, 0.0])
            bucket[0] += 1
            bucket[1] += seconds
            for old in [k for k in self.buckets if k <= second - self.WINDOW]:
                del self.buckets[old]

    def snapshot(self):
        """(requests per second, mean response ms) over the last WINDOW seconds (or since start)."""
        now = time.monotonic()
        first = int(now) - self.WINDOW + 1
        with self.lock:
            recent = [b for k, b in self.buckets.items() if k >= first]
            count = sum(b[0] for b in recent)
            total = sum(b[1] for b in recent)
        span = now - max(first, self.started)
        rps = count / span if span > 0 else 0.0
        return rps, (1000.0 * total / count if count else 0.0)


def burn_cpu(ms):
    """Spends `ms` of this thread's CPU time: a request's work, so that a server's CPU use follows
    the requests it serves (the least-load lab scenario balances on it)."""
    end = time.thread_time() + ms / 1000.0
    while time.thread_time() < end:
        pass


def make_handler(name, stats=None, work_ms=0.0):
    stats = stats if stats is not None else RequestStats()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fairway-lab/1"

        def setup(self):
            super().setup()
            self.nreq = 0

        def _body(self):
            self.nreq += 1
            c = self.client_address
            s = self.connection.getsockname()
            fmt = lambda a: ("[%s]:%d" if ":" in a[0] else "%s:%d") % (a[0], a[1])
            return ("%s client=%s server=%s n=%d\n" % (name, fmt(c), fmt(s), self.nreq)).encode()

        def do_GET(self):
            if self.path == "/fairway-stats":
                return self._stats()
            start = time.monotonic()
            if work_ms > 0:
                burn_cpu(work_ms)
            body = self._body()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Backend", name)
            self.end_headers()
            self.wfile.write(body)
            stats.record(time.monotonic() - start)

        def do_HEAD(self):
            start = time.monotonic()
            body = self._body()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Backend", name)
            self.end_headers()
            stats.record(time.monotonic() - start)

        def _stats(self):
            rps, mean_ms = stats.snapshot()
            body = json.dumps({"requests_per_second": round(rps, 2),
                               "mean_response_ms": round(mean_ms, 3)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Backend", name)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):  # quiet: hundreds of requests per test
            pass

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def server_bind(self):
        # no getfqdn(): there is no name service in the lab
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        socketserver.TCPServer.server_bind(self)
        self.server_name = "lab"
        self.server_port = self.server_address[1]


class Server6(Server):
    address_family = socket.AF_INET6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--port", type=int, action="append", required=True)
    ap.add_argument("--bind4", default="0.0.0.0")
    ap.add_argument("--bind6", default="::")
    ap.add_argument("--work-ms", type=float, default=0.0,
                    help="CPU time each GET spends (default 0), so that CPU use follows requests")
    a = ap.parse_args()
    if not 0 <= a.work_ms <= 1000:
        ap.error("--work-ms must be 0..1000")
    handler = make_handler(a.name, work_ms=a.work_ms)
    servers = []
    for port in a.port:
        servers.append(Server((a.bind4, port), handler))
        if a.bind6:
            servers.append(Server6((a.bind6, port), handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("%s: http on ports %s ready" % (a.name, a.port), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    return 0  # the serving threads are daemons: nothing to wait for


if __name__ == "__main__":
    sys.exit(main())
