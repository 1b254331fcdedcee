"""The SYN proxy (SYN cookies) of nat services in the namespace lab (docs/LAB.md).

`syn_proxy: always` on web-nat (198.18.100.2:80 -> back-ends :8080) and on bulk-nat
(198.18.100.2:9000 -> an echo server on the back-ends' port 9000, started here): fairwayd answers
every client SYN with a cookie SYN-ACK (only an MSS option), keeps no state for it, opens the
back-end's handshake when the client's ACK returns a valid cookie, and from then on translates
sequence numbers both ways.

- always: real HTTP connections (keep-alive, 3 requests each) all succeed, the back-ends see the
  real client address and port, held keep-alive connections keep working, 3 x 16 MB echoed both
  ways at once come back intact (sequence translation under full windows); the counters
  (syn_cookies_sent/validated, per service cookies_sent/validated) count every connection.
- always, probes from scapy: a SYN offering MSS, SACK, timestamps and window scale gets a SYN-ACK
  with only an MSS and makes no flow-table entry; made-up ACKs (random cookies, with and without
  data, and real cookies sent from another source port) are dropped as bad_syn_cookie, reach no
  back-end (their kernels would answer each with a reset) and create no entry; fairwayd serves on.
- always, spoofed SYN flood (lab/flood.py, FAIRWAY_EDGE_FLOOD_PPS for FAIRWAY_EDGE_FLOOD_SECONDS,
  as in test_lab_edge.py): >= 99.9 % of the new connections succeed during the flood, all before and
  after, no held connection breaks; the flow table stays free of half-open entries (spoofed SYNs
  make none) while syn_cookies_sent follows the flood.
- always, syn_cookies.key_file: a cookie made before a restart of fairwayd opens its connection
  after it, the back-end's answer in the cookie's sequence space.
- under_pressure, a flow table of 1024 entries, the same flood: no cookie before the flood, the
  proxy engages under the flood and real connections succeed as above; held connections opened
  while it is engaged survive its disengagement, which comes back within a bounded time after
  the flood ends.
- under_pressure, 1024 entries, a spoofed SYN+ACK flood: real connections succeed as under the
  SYN flood (such segments make no entry while the proxy is engaged, and the entries they made
  before are evicted like half-open ones).

Known cost of the proxy: the client's first data, sent right after its handshake ACK, reaches the
load balancer before the back-end has answered and is dropped; the client sends it again after
its minimum RTO (200 ms). The clients here allow for it (timeouts of 3-4 s).

Two labs, one after the other (each busy-polls a core). About 2.5 minutes; pytest -s prints the
figures. Run as root:
  FAIRWAYD=build/fairwayd /usr/bin/python3 -m pytest -q -s tests/lab/test_lab_syn_proxy.py
  FAIRWAY_EDGE_FLOOD_SECONDS=20   length of each flood
  FAIRWAY_EDGE_FLOOD_PPS=60000     its rate
"""
import contextlib
import functools
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time

import pytest

from labnet import BACKENDS, CLI4, PY, VIP4_NAT, WEIGHTS, Lab
from test_lab_edge import (CLIENT_TIMEOUT, FLOOD_SECONDS, HOLD, _requirements, counter,
                           finish_client, flood_run, pct, start_client, stats)

ECHO_PORT = 9000          # bulk-nat: VIP4_NAT:9000 -> back-ends:9000 (the echo server below)
PROXIED = ("web-nat", "bulk-nat")
COOKIE_COUNTERS = ("syn_cookies_sent", "syn_cookies_validated", "bad_syn_cookie")

# The back-ends' echo server for bulk-nat: every byte back as it comes, FIN after the client's.
# Bounded: it stops by itself after ECHO_LIFETIME seconds (and the lab's teardown kills it).
ECHO_LIFETIME = 600
ECHO_SERVER = r"""
import signal, socket, sys, threading
signal.alarm(int(sys.argv[2]))
def serve(c):
    try:
        while True:
            b = c.recv(262144)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(128)
print("echo ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

# Probes from the client namespace with scapy (JSON on stdout):
#  1. `syns` SYNs (source ports 20000..) offering MSS, SACK, timestamps and window scale: the
#     SYN-ACKs' options;
#  2. the ACKs, paced: `moved` real cookies (from the SYN-ACKs above) sent from another source
#     port, `random` ACKs with a made-up cookie, `data` of them carrying an HTTP request (source
#     ports 2000..19999: below the client kernel's ephemeral ports, whose earlier connections may
#     still have entries).
# The client's kernel would reset the SYN-ACKs (it has no socket): no_client_resets() stops that.
SCAPY_PROBES = r"""
import json, random, sys
from scapy.all import IP, TCP, Raw, conf, send, sr1
conf.verb = 0
vip, port, n_syns, n_random, n_data = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
rng = random.Random()
out = {"synacks": [], "acks": 0}
moved = []
for i in range(n_syns):
    sport, isn = 20000 + i * 7, rng.randrange(2 ** 32)
    syn = IP(dst=vip) / TCP(sport=sport, dport=port, flags="S", seq=isn, window=64240,
                            options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456, 0)),
                                     ("NOP", None), ("WScale", 7)])
    r = sr1(syn, timeout=2)
    if r is None or TCP not in r:
        out["synacks"].append(None)
        continue
    t = r[TCP]
    opts = [o for o in t.options if o[0] not in ("NOP", "EOL")]
    out["synacks"].append({"flags": str(t.flags), "ack_ok": t.ack == (isn + 1) % 2 ** 32,
                           "options": [o[0] for o in opts],
                           "mss": dict(opts).get("MSS"), "window": t.window,
                           "src": r[IP].src, "sport": t.sport})
    # the real cookie, but from the next source port: bound to the 4-tuple, it must fail
    moved.append(IP(dst=vip) / TCP(sport=sport + 1, dport=port, flags="A",
                                   seq=(isn + 1) % 2 ** 32, ack=(t.seq + 1) % 2 ** 32, window=502))
acks = list(moved)
for i in range(n_random):
    acks.append(IP(dst=vip) / TCP(sport=rng.randrange(2000, 20000), dport=port, flags="A",
                                  seq=rng.randrange(2 ** 32), ack=rng.randrange(2 ** 32),
                                  window=502))
for i in range(n_data):
    acks.append(IP(dst=vip) / TCP(sport=rng.randrange(2000, 20000), dport=port, flags="PA",
                                  seq=rng.randrange(2 ** 32), ack=rng.randrange(2 ** 32),
                                  window=502) / Raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
send(acks, inter=0.002)
out["acks"] = len(acks)
out["moved"] = len(moved)
print(json.dumps(out))
"""


# A cookie across a restart of fairwayd (same key_file), with scapy in the client namespace.
# "syn": a SYN from SPORT -> {"isn", "cookie"}.
# "complete": the handshake's ACK with that cookie, then an HTTP request (sent again every 0.6 s
# until answered, at most 5 times), and the first answer with data as the client sees it.
# Then a reset ends the back-end's side. Run under no_client_resets(): the client's kernel, which
# has no socket for these segments, would reset the connection at the first one it gets.
SCAPY_RESTART = r"""
import json, random, sys, time
from scapy.all import IP, TCP, Raw, AsyncSniffer, conf, send, sr1
conf.verb = 0
what, vip, port, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if what == "syn":
    isn = random.randrange(2 ** 32)
    r = sr1(IP(dst=vip) / TCP(sport=sport, dport=port, flags="S", seq=isn, window=64240,
                              options=[("MSS", 1460)]), timeout=2)
    print(json.dumps({"isn": isn, "cookie": r[TCP].seq if r is not None and TCP in r else None}))
    sys.exit(0)
isn, cookie = int(sys.argv[5]), int(sys.argv[6])
seq, ack = (isn + 1) % 2 ** 32, (cookie + 1) % 2 ** 32
answers = []  # segments with data from vip:port to sport (AsyncSniffer.results comes at stop())
sniffer = AsyncSniffer(iface="cli0", store=False, prn=answers.append,
                       lfilter=lambda p: IP in p and TCP in p and Raw in p and p[IP].src == vip
                       and p[TCP].sport == port and p[TCP].dport == sport)
sniffer.start()
time.sleep(0.5)
send(IP(dst=vip) / TCP(sport=sport, dport=port, flags="A", seq=seq, ack=ack, window=65535))
request = b"GET /restart HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
answer, attempts = None, 0
for attempts in range(1, 6):
    time.sleep(0.3)
    send(IP(dst=vip) / TCP(sport=sport, dport=port, flags="PA", seq=seq, ack=ack, window=65535)
         / Raw(request))
    end = time.time() + 0.6
    while not answers and time.time() < end:
        time.sleep(0.05)
    if answers:
        answer = answers[0]
    if answer is not None:
        break
sniffer.stop()
send(IP(dst=vip) / TCP(sport=sport, dport=port, flags="R", seq=(seq + len(request)) % 2 ** 32))
out = {"attempts": attempts, "answer": None}
if answer is not None:
    t = answer[TCP]
    out["answer"] = {"seq_ok": t.seq == ack, "ack_ok": t.ack == (seq + len(request)) % 2 ** 32,
                     "flags": str(t.flags), "text": bytes(t[Raw].load).decode("latin-1")}
print(json.dumps(out))
"""


# ---- configuration ------------------------------------------------------------------------------

def _backends(port):
    return [{"address": BACKENDS[b][0], "port": port, "weight": WEIGHTS[b]} for b in sorted(BACKENDS)]


def proxy_always(config, key_file):
    """web-nat and a second nat service, bulk-nat (to the echo servers), in `always` mode; the
    cookie key from syn_cookies.key_file (written here: 32 random bytes in hex)."""
    with open(key_file, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    config["syn_cookies"] = {"key_file": key_file}
    for service in config["services"]:
        if service["name"] == "web-nat":
            service["syn_proxy"] = "always"
    config["services"].append({"name": "bulk-nat", "vip": VIP4_NAT, "port": ECHO_PORT,
                               "protocol": "tcp", "mode": "nat", "syn_proxy": "always",
                               "backends": _backends(ECHO_PORT)})


def proxy_under_pressure_small_table(config):
    config.setdefault("flow_table", {})["capacity"] = 1024
    for service in config["services"]:
        if service["name"] == "web-nat":
            service["syn_proxy"] = "under_pressure"


# ---- helpers ------------------------------------------------------------------------------------

def service_counters(s, name):
    for service in s["services"]:
        if service["name"] == name:
            return service["counters"]
    raise AssertionError("no service %s in the stats: %s" % (name, [x["name"] for x in s["services"]]))


def cookie_delta(before, after):
    """Worker and per-service cookie counters between two stats."""
    d = {n: counter(after, n) - counter(before, n)
         for n in COOKIE_COUNTERS + ("flows_created", "nat_forwarded", "nat_reversed")}
    for name in {x["name"] for x in after["services"]} & set(PROXIED):
        a, b = service_counters(after, name), service_counters(before, name)
        for k in ("cookies_sent", "cookies_validated", "syns"):
            d["%s.%s" % (name, k)] = a.get(k, 0) - b.get(k, 0)
    return d


@contextlib.contextmanager
def no_client_resets(lab, ports="20000-29999"):
    """The client's kernel sends no reset from `ports` to the nat VIP (an nftables table in the
    client namespace, removed after): scapy's hand-made connections there are its own, and the
    kernel's resets to the SYN-ACKs it has no socket for would otherwise reach the load balancer
    (and, as any segment without ACK of an unknown flow, make an entry for the 4-tuple). scapy
    sends on a packet socket, below nftables: its own resets still go out."""
    table = "synlab"
    rules = ("add table ip {t}\n"
             "add chain ip {t} out {{ type filter hook output priority 0; policy accept; }}\n"
             "add rule ip {t} out ip daddr {vip} tcp sport {ports} tcp flags & rst == rst drop\n"
             ).format(t=table, vip=VIP4_NAT, ports=ports)
    r = subprocess.run(["ip", "netns", "exec", lab.ns("cli"), "nft", "-f", "-"], input=rules,
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    try:
        yield
    finally:
        lab.run("cli", "nft", "delete", "table", "ip", table, timeout=10)


def p99(values):
    values = sorted(values)
    return values[int(0.99 * (len(values) - 1))] if values else float("nan")


def start_echo_servers(lab):
    script = os.path.join(lab.logdir, "echo_server.py")
    with open(script, "w") as f:
        f.write(ECHO_SERVER)
    procs = []
    for be in sorted(BACKENDS):
        log = open(os.path.join(lab.logdir, "%s-echo.log" % be), "wb")
        procs.append(subprocess.Popen(["ip", "netns", "exec", lab.ns(be), PY, script, str(ECHO_PORT),
                                       str(ECHO_LIFETIME)], stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True))
        log.close()
    end = time.monotonic() + 10
    for be in sorted(BACKENDS):
        while "%d" % ECHO_PORT not in lab.run(be, "ss", "-Hltn", "sport = :%d" % ECHO_PORT,
                                              timeout=10).stdout:
            assert time.monotonic() < end, "the echo server in %s does not listen" % be
            time.sleep(0.1)
    return procs


def stop_procs(procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)


def backend_tcp(lab):
    """The back-ends' kernels' TCP segment counters, summed: a made-up ACK that reached one
    would be answered with a reset (no socket, or a listener without a request)."""
    total = {"TcpInSegs": 0, "TcpOutRsts": 0}
    for be in BACKENDS:
        for k, v in lab.nstat(be, *total).items():
            total[k] += v
    return total


def established_from_client(lab):
    """Connections the back-ends hold from the client's address (any state but listening)."""
    out = []
    for be in sorted(BACKENDS):
        r = lab.run(be, "ss", "-Htn", "state", "established", "dst", CLI4, timeout=10)
        out += ["%s %s" % (be, line) for line in r.stdout.splitlines() if line.strip()]
    return out


class Sampler:
    """The workers' half-open entries, flows, table pressure and SYN proxy engagement, once a
    second (bounded by the `with` block), from the control API."""

    def __init__(self, lab, every=1.0):
        self.lab, self.every, self.samples = lab, every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(15)
        return False

    def _run(self):
        while not self._stop.wait(self.every):
            try:
                st = self.lab.api("GET", "/api/v1/status")[1]
            except Exception:  # noqa: BLE001 (a slow answer under the flood: next second)
                continue
            w = st["workers"]
            self.samples.append((time.time(), sum(x["half_open_flows"] for x in w),
                                 sum(x["flows"] for x in w), any(x["under_pressure"] for x in w),
                                 any(x["syn_proxy_engaged"] for x in w)))

    def max_half_open(self):
        return max((s[1] for s in self.samples), default=0)

    def pressure(self):
        """A character a second: P the table under pressure (and the proxy engaged), c the proxy
        engaged alone (it keeps the flood's half-open flows out of the table), . neither."""
        return "".join("P" if s[3] else "c" if s[4] else "." for s in self.samples)


def run_http(lab, procs, n, requests):
    """`procs` http clients at once at web-nat, n connections each, `requests` keep-alive
    requests per connection; returns the results."""
    ps = [start_client(lab, "http", VIP4_NAT, 80, "-n", n, "--requests", requests, "--timeout", 3,
                       "--deadline", 90) for _ in range(procs)]
    return [finish_client(p, 120) for p in ps]


def check_http(results, requests):
    conns = [c for r in results for c in r["conns"]]
    errors = [r["errors"] for r in results if r["errors"]]
    assert not errors, errors
    assert len(conns) == sum(r["n"] for r in results), len(conns)
    for c in conns:
        answers = c["answers"]
        assert len(answers) == requests, c
        # one back-end, one server-side connection (n = 1..requests), the real client address
        assert len({a["backend"] for a in answers}) == 1, c
        assert [a.get("n") for a in answers] == [str(i + 1) for i in range(requests)], c
        assert all(a["client"] == c["local"] for a in answers), c
        assert all(a["status"] == 200 for a in answers), c
    return len(conns)


# ---- fixtures: one lab at a time (each busy-polls a core) ---------------------------------------

def requirements():
    _requirements()  # root, the lab's tools, fairwayd
    if shutil.which("nft") is None:
        pytest.skip("nft not installed (see lab/packages.txt)")


@pytest.fixture(scope="class")
def lab_always():
    requirements()
    lab = Lab()
    lab.config_edit = functools.partial(proxy_always,
                                        key_file=os.path.join(lab.logdir, "syn-cookie.key"))
    with lab:
        procs = start_echo_servers(lab)
        try:
            yield lab
            print("\nfairwayd counters (syn_proxy always):",
                  json.dumps({k: v for k, v in stats(lab)["counters"].items() if v}, sort_keys=True))
        finally:
            stop_procs(procs)


@pytest.fixture(scope="class")
def lab_pressure():
    requirements()
    with Lab(config_edit=proxy_under_pressure_small_table) as lab:
        yield lab
        print("\nfairwayd counters (syn_proxy under_pressure, 1024 entries):",
              json.dumps({k: v for k, v in stats(lab)["counters"].items() if v}, sort_keys=True))


SYN_FLOOD = "S"  # flood_run's flags: spoofed SYNs at FLOOD_PPS (lab/flood.py)


# ---- tests: syn_proxy always --------------------------------------------------------------------

@pytest.mark.usefixtures("lab_always")
class TestAlways:
    def test_connections_keepalive_and_bulk(self, lab_always):
        """HTTP connections, held keep-alive connections and bulk echo, all through the proxy."""
        lab = lab_always
        s0 = stats(lab)
        steady_seconds = 10
        steady = start_client(lab, "steady", VIP4_NAT, 80, "--hold", 10, "--hold-every", 0.5,
                              "--rate", 20, "--threads", 8, "--seconds", steady_seconds,
                              "--timeout", CLIENT_TIMEOUT)
        time.sleep(1.5)  # the held connections are open
        bulk = start_client(lab, "bulk", VIP4_NAT, ECHO_PORT, "--bytes", 16000000, "--conns", 3,
                            "--timeout", 5, "--deadline", 60)
        http = run_http(lab, 4, 25, 3)
        b = finish_client(bulk, 90)
        r = finish_client(steady, steady_seconds + 60)
        s1 = stats(lab)
        d = cookie_delta(s0, s1)
        n_http = check_http(http, 3)
        lat = [x[1] for x in r["records"] if x[2] is None]
        print("\nsyn_proxy always: %d HTTP connections x 3 requests ok; steady: %d/%d new (p99 %.1f ms,"
              " median %.1f ms), %d held: %d broken, %d switched, %d requests; bulk: %s; %s"
              % (n_http, r["ok"], r["connections"], p99(lat), sorted(lat)[len(lat) // 2] if lat else 0,
                 len(r["held"]), r["held_broken"], r["held_switched"], r["held_requests"],
                 ["%s %d/%d B %.1f MB/s connect %s ms%s" % (x["local"], x["received"], x["sent"],
                                                           x["mbytes_per_s"], x["connect_ms"],
                                                           ", " + x["error"] if x["error"] else "")
                  for x in b["results"]], d))
        # every connection went through the proxy: a cookie sent and validated for each
        connections = n_http + r["connections"] + len(r["held"]) + b["conns"]
        assert d["syn_cookies_sent"] >= connections, (connections, d)
        assert d["syn_cookies_validated"] >= connections, (connections, d)
        assert d["web-nat.cookies_sent"] >= n_http + r["connections"] + len(r["held"]), d
        assert d["web-nat.cookies_validated"] >= n_http + r["connections"] + len(r["held"]), d
        assert d["bulk-nat.cookies_validated"] >= b["conns"], d
        assert d["bad_syn_cookie"] == 0, d
        # sequence translation, both ways, with full windows: the echo is intact
        assert b["ok"] == b["conns"], b["results"]
        # held keep-alive connections: a request every 0.5 s for the whole run, none broken
        assert r["failed"] == 0, r["errors"]
        assert r["connections"] >= 50, r["connections"]
        assert r["held_broken"] == 0 and r["held_switched"] == 0, r["held"]
        assert all(h["requests"] >= (steady_seconds - 2) / 0.5 for h in r["held"]), r["held"]

    def test_cookie_probes_and_made_up_acks(self, lab_always):
        """SYN-ACK options, no state for a SYN; ACKs with made-up or moved cookies dropped as
        bad_syn_cookie, none reaching a back-end; fairwayd serves on."""
        lab = lab_always
        n_syns, n_random, n_data = 20, 250, 50
        time.sleep(1)  # quiet: the previous test's connections are over
        assert not established_from_client(lab), established_from_client(lab)
        s0, k0 = stats(lab), backend_tcp(lab)
        with no_client_resets(lab):
            r = lab.run("cli", PY, "-c", SCAPY_PROBES, VIP4_NAT, "80", str(n_syns), str(n_random),
                        str(n_data), timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        probes = json.loads(r.stdout)
        time.sleep(0.5)
        s1, k1 = stats(lab), backend_tcp(lab)
        d = cookie_delta(s0, s1)
        kd = {k: k1[k] - k0[k] for k in k1}
        held = established_from_client(lab)
        synacks = probes["synacks"]
        print("\ncookie probes: %d SYNs -> SYN-ACK options %s, MSS %s; %d ACKs (%d real cookies from "
              "another port, %d random, %d random with data); fairwayd %s; back-ends' kernels %s; "
              "half-open %d, flows %d"
              % (n_syns, sorted({tuple(x["options"]) for x in synacks if x}),
                 sorted({x["mss"] for x in synacks if x}), probes["acks"], probes["moved"], n_random,
                 n_data, d, kd, s1["half_open_flows"], s1["flows"]))
        # the SYN-ACK: from the VIP, acknowledges the SYN, offers only an MSS (no SACK, no window
        # scale, no timestamps: the cookie cannot hold them), an MSS no larger than offered
        assert all(x is not None for x in synacks), synacks
        for x in synacks:
            assert x["flags"] == "SA" and x["ack_ok"], x
            assert (x["src"], x["sport"]) == (VIP4_NAT, 80), x
            assert x["options"] == ["MSS"], x
            assert 536 <= x["mss"] <= 1460, x
        assert d["syn_cookies_sent"] == n_syns, d
        # no state: neither the SYNs nor the made-up ACKs made an entry, no cookie validated
        assert d["flows_created"] == 0, d
        assert d["syn_cookies_validated"] == 0, d
        assert s1["half_open_flows"] == 0, s1["half_open_flows"]
        # every made-up ACK dropped as a bad cookie
        assert probes["acks"] == n_syns + n_random + n_data, probes
        assert d["bad_syn_cookie"] == probes["acks"], (probes, d)
        # nothing reached a back-end: each would have answered with a reset
        assert kd["TcpOutRsts"] == 0 and kd["TcpInSegs"] == 0, kd
        assert d["nat_forwarded"] == 0, d
        assert not held, held
        # and fairwayd serves on
        assert lab.fwd.poll() is None, lab.log_tail()
        check_http(run_http(lab, 2, 10, 1), 1)

    def test_syn_flood(self, lab_always):
        """Spoofed SYN flood at the proxied VIP: connections as in test_lab_edge, no half-open
        entries, the flood answered with cookies."""
        lab = lab_always
        s0 = stats(lab)
        with Sampler(lab) as smp:
            info, d_flood = flood_run(lab, VIP4_NAT, "SYN flood, syn_proxy always, nat", SYN_FLOOD)
        s1 = stats(lab)
        d = cookie_delta(s0, s1)
        frames = info["pps"] * FLOOD_SECONDS
        print("  syn_proxy always: %s; half-open entries (sampled) max %d, samples %s; cookies sent"
              " %.2f per frame received during the flood; success %.2f %%, p99 %.1f ms"
              % (d, smp.max_half_open(), [s[1] for s in smp.samples], d["syn_cookies_sent"] / max(frames, 1),
                 pct(*info["during"]), info["p99_ms"]))
        # spoofed SYNs make no entry: only the real connections do (one each)
        assert d_flood["flows_created"] <= 2 * info["during"][1] + HOLD + 100, (d_flood, info)
        assert smp.samples and smp.max_half_open() <= 100, smp.samples
        assert s1["half_open_flows"] <= 100, s1["half_open_flows"]
        # the flood was answered with cookies
        assert d["syn_cookies_sent"] >= 0.5 * frames, (d, info)
        assert d["syn_cookies_sent"] >= 100 * info["during"][1], (d, info)
        assert d["syn_cookies_validated"] >= info["during"][0], (d, info)
        assert lab.fwd.poll() is None, lab.log_tail()

    def test_cookie_valid_across_restart(self, lab_always):
        """The key comes from syn_cookies.key_file: a cookie made before fairwayd restarts opens
        the connection after it (as another node with the same key would take it over), and the
        back-end's answer reaches the client in the cookie's sequence space."""
        lab = lab_always
        sport = 23456
        with no_client_resets(lab):
            r = lab.run("cli", PY, "-c", SCAPY_RESTART, "syn", VIP4_NAT, "80", str(sport), timeout=60)
            assert r.returncode == 0, r.stderr[-3000:]
            syn = json.loads(r.stdout)
            assert syn["cookie"] is not None, syn
            t0 = time.monotonic()
            lab.stop_fairwayd()
            lab.start_fairwayd()
            restart = time.monotonic() - t0
            s0 = stats(lab)
            r = lab.run("cli", PY, "-c", SCAPY_RESTART, "complete", VIP4_NAT, "80", str(sport),
                        str(syn["isn"]), str(syn["cookie"]), timeout=60)
            assert r.returncode == 0, r.stderr[-3000:]
            out = json.loads(r.stdout)
        d = cookie_delta(s0, stats(lab))
        print("\ncookie across a restart (%.1f s): %s; %s" % (restart, out, d))
        assert d["syn_cookies_validated"] >= 1 and d["bad_syn_cookie"] == 0, d
        a = out["answer"]
        assert a is not None, out
        assert a["text"].startswith("HTTP/1.1 200") and "X-Backend: be" in a["text"], a
        assert a["seq_ok"] and a["ack_ok"], a
        assert lab.fwd.poll() is None, lab.log_tail()


# ---- tests: syn_proxy under_pressure, a flow table of 1024 entries ------------------------------

# after the flood's clients (8 s after the flood): the pressure's hold (10 s), the proxy's (10 s)
DISENGAGE_SECONDS = 45


@pytest.mark.usefixtures("lab_pressure")
class TestUnderPressure:
    def test_syn_flood_engages_proxy(self, lab_pressure):
        lab = lab_pressure
        # no pressure, no proxy
        s0 = stats(lab)
        check_http(run_http(lab, 2, 15, 1), 1)
        d = cookie_delta(s0, stats(lab))
        assert d["syn_cookies_sent"] == 0 and d["web-nat.cookies_sent"] == 0, d
        # held connections opened while the proxy is engaged (3 s into the flood), kept through
        # its disengagement after the flood
        stop_file = os.path.join(lab.logdir, "stop-late-hold")
        late = {}

        def start_late():
            late["t"] = time.time()
            late["proc"] = start_client(lab, "steady", VIP4_NAT, 80, "--hold", 5, "--hold-every", 1,
                                        "--rate", 1, "--threads", 1, "--seconds", 150,
                                        "--timeout", CLIENT_TIMEOUT, "--stop-file", stop_file)

        timer = threading.Timer(3.0 + 3.0, start_late)  # flood_run floods from BEFORE = 3 s
        s0 = stats(lab)
        timer.start()
        try:
            with Sampler(lab) as smp:
                info, d_flood = flood_run(lab, VIP4_NAT, "SYN flood, syn_proxy under_pressure,"
                                          " 1024 entries, nat", SYN_FLOOD)
                s1 = stats(lab)
                d = cookie_delta(s0, s1)
                # then until the proxy lets go: a few connections every 2 s make no cookie
                t_clients_end = time.time()
                disengaged = None
                while time.time() < t_clients_end + DISENGAGE_SECONDS:
                    a = stats(lab)
                    check_http(run_http(lab, 1, 3, 1), 1)
                    if cookie_delta(a, stats(lab))["syn_cookies_sent"] == 0:
                        disengaged = time.time()
                        break
                    time.sleep(2)
                time.sleep(3)  # the late held connections go on after the disengagement
        finally:
            timer.cancel()
            open(stop_file, "w").close()
        assert "proc" in late, "the late client did not start"
        lr = finish_client(late["proc"], 60)
        print("  syn_proxy under_pressure: %s; pressure (sampled each second) %s; half-open max %d;"
              " success %.2f %%, p99 %.1f ms; proxy off again %s after the clients' end; late held"
              " connections: %d broken, %d switched, requests %s"
              % (d, smp.pressure(), smp.max_half_open(), pct(*info["during"]), info["p99_ms"],
                 "%.1f s" % (disengaged - t_clients_end) if disengaged else "not",
                 lr["held_broken"], lr["held_switched"], [h["requests"] for h in lr["held"]]))
        # The table's own pressure may last less than a sample: once the proxy answers, the flood
        # makes no more half-open entries. The engagement is what lasts while the flood goes on.
        assert smp.pressure().count("P") + smp.pressure().count("c") >= FLOOD_SECONDS // 2, \
            smp.samples
        assert d["syn_cookies_sent"] > 0 and d["web-nat.cookies_sent"] > 0, d
        assert d["syn_cookies_validated"] > 0 and d["web-nat.cookies_validated"] > 0, d
        assert disengaged is not None, "the proxy still sends cookies %d s after the flood" % (
            DISENGAGE_SECONDS)
        assert lr["held_broken"] == 0 and lr["held_switched"] == 0, lr["held"]
        assert lr["failed"] == 0, lr["errors"]
        run_seconds = time.time() - late["t"]
        assert all(h["requests"] >= run_seconds - 8 for h in lr["held"]), (run_seconds, lr["held"])
        assert lab.fwd.poll() is None, lab.log_tail()

    def test_spoofed_syn_ack_flood(self, lab_pressure):
        """Spoofed SYN+ACK segments (lab/flood.py --flags SA, as from a reflection) at
        the proxied VIP, 1024 entries: real connections succeed as under the SYN flood."""
        lab = lab_pressure
        s0 = stats(lab)
        try:
            flood_run(lab, VIP4_NAT, "SYN+ACK flood, syn_proxy under_pressure, 1024 entries, nat",
                      "SA")
        finally:
            s1 = stats(lab)
            print("  %s; proxied_flow_untracked %d; table %d entries, half-open %d"
                  % (cookie_delta(s0, s1), counter(s1, "proxied_flow_untracked")
                     - counter(s0, "proxied_flow_untracked"), s1["flows"], s1["half_open_flows"]))
        assert lab.fwd.poll() is None, lab.log_tail()
