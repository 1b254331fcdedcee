"""Golden packet tests: one driver for every fixture file (see README.md).

A Case is data: input frames per port, expected output frames per port, expected counters.
run_case() writes the inputs to pcaps, renders a config for the lab below, runs fairwayd with
net_pcap ports until it goes idle, and returns what came out; check() compares it with the case
and fails the test with a field-by-field diff. `python3 golden.py MODULE [CASE] --repeat N`
replays a case's inputs N times and prints the worker's cycles per packet.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Callable

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, TCP, UDP, Ether, IPv6, NoPayload, Packet, Raw, rdpcap, wrpcap  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAIRWAYD = os.environ.get("FAIRWAYD", os.path.join(_ROOT, "build", "fairwayd"))
IDLE_EXIT_MS = 300
RUN_TIMEOUT_S = 30
JOBS = 3  # daemons run side by side (each has its own --file-prefix)

# ---------------------------------------------------------------------------------------------
# The lab: two ports, a client, a router for transit, three back-ends.
CLIENT_PORT_MAC, SERVER_PORT_MAC = "02:00:00:00:00:01", "02:00:00:00:01:01"
CLIENT_MAC, ROUTER_MAC = "02:00:00:00:00:02", "02:00:00:00:00:fe"
CLIENT4, CLIENT6 = "198.18.0.2", "2001:2::2"
ROUTER4, ROUTER6 = "198.18.0.254", "2001:2::fe"


@dataclasses.dataclass(frozen=True)
class Backend:
    name: str
    ip4: str
    ip6: str
    mac: str


B11 = Backend("b11", "198.18.1.11", "2001:2:0:1::11", "02:00:00:00:01:0b")
B12 = Backend("b12", "198.18.1.12", "2001:2:0:1::12", "02:00:00:00:01:0c")
B13 = Backend("b13", "198.18.1.13", "2001:2:0:1::13", "02:00:00:00:01:0d")
BACKENDS = (B11, B12, B13)

PORTS = [
    {"name": "client", "mac": CLIENT_PORT_MAC, "addresses": ["198.18.0.1/24", "2001:2::1/64"]},
    {"name": "server", "mac": SERVER_PORT_MAC,
     "addresses": ["198.18.1.1/24", "2001:2:0:1::1/64"]},
]
NEIGHBORS = [
    {"address": CLIENT4, "mac": CLIENT_MAC, "port": "client"},
    {"address": CLIENT6, "mac": CLIENT_MAC, "port": "client"},
    {"address": ROUTER4, "mac": ROUTER_MAC, "port": "client"},
    {"address": ROUTER6, "mac": ROUTER_MAC, "port": "client"},
] + [{"address": a, "mac": b.mac, "port": "server"} for b in BACKENDS for a in (b.ip4, b.ip6)]
ROUTES = [
    {"prefix": "0.0.0.0/0", "via": ROUTER4, "port": "client"},
    {"prefix": "::/0", "via": ROUTER6, "port": "client"},
]

# Frame heads as seen on the wire.
def from_client() -> Ether: return Ether(src=CLIENT_MAC, dst=CLIENT_PORT_MAC)
def to_client() -> Ether: return Ether(src=CLIENT_PORT_MAC, dst=CLIENT_MAC)
def from_router() -> Ether: return Ether(src=ROUTER_MAC, dst=CLIENT_PORT_MAC)
def to_router() -> Ether: return Ether(src=CLIENT_PORT_MAC, dst=ROUTER_MAC)
def from_backend(b: Backend) -> Ether: return Ether(src=b.mac, dst=SERVER_PORT_MAC)
def to_backend(b: Backend) -> Ether: return Ether(src=SERVER_PORT_MAC, dst=b.mac)


def service(name, vip, port, backends, protocol="tcp", mode="dsr", backend_port=None,
            weights=None, **extra) -> dict:
    """A services[] entry; `backends` are Backend objects, the VIP's family picks ip4 or ip6."""
    v6 = ":" in vip
    entries = []
    for i, b in enumerate(backends):
        e = {"address": b.ip6 if v6 else b.ip4}
        if backend_port is not None:
            e["port"] = backend_port
        if weights is not None:
            e["weight"] = weights[i]
        entries.append(e)
    return {"name": name, "vip": vip, "port": port, "protocol": protocol, "mode": mode,
            "backends": entries, **extra}


VIP4, VIP4_NAT, VIP4_STRICT, VIP4_WEIGHTS = ("198.18.100.1", "198.18.100.2", "198.18.100.3",
                                            "198.18.100.4")
VIP6, VIP6_NAT = "2001:2:0:100::1", "2001:2:0:100::2"

# The shared services; a case may bring its own list instead.
SERVICES = [
    service("web", VIP4, 80, BACKENDS),
    service("dns", VIP4, 53, BACKENDS, protocol="udp"),
    service("web-nat", VIP4_NAT, 80, (B11, B12), mode="nat", backend_port=8080),
    service("dns-nat", VIP4_NAT, 53, (B11, B12), protocol="udp", mode="nat", backend_port=5353),
    service("web-strict", VIP4_STRICT, 80, BACKENDS, missing_flow="strict"),
    service("web-weights", VIP4_WEIGHTS, 80, BACKENDS, weights=[1, 0, 1]),
    service("web6", VIP6, 80, BACKENDS),
    service("dns6", VIP6, 53, BACKENDS, protocol="udp"),
    service("web6-nat", VIP6_NAT, 80, (B11, B12), mode="nat", backend_port=8080),
]
NAT_BACKENDS = (B11, B12)


def ip(src: str, dst: str, **kw) -> Packet:
    """An IPv4 or IPv6 header, by the family of `src`; `ttl` means hlim for IPv6."""
    if ":" in src:
        if "ttl" in kw:
            kw["hlim"] = kw.pop("ttl")
        return IPv6(src=src, dst=dst, **kw)
    kw.setdefault("id", 1)
    return IP(src=src, dst=dst, **kw)


def tcp(src, dst, sport, dport, flags="S", seq=1000, ack=0, load=b"", ttl=64, window=8192,
        ip_flags=None, **ip_kw) -> Packet:
    if ip_flags is not None:
        ip_kw["flags"] = ip_flags
    pkt = ip(src, dst, ttl=ttl, **ip_kw) / TCP(sport=sport, dport=dport, flags=flags, seq=seq,
                                                ack=ack, window=window)
    return pkt / Raw(load) if load else pkt


def udp(src, dst, sport, dport, load=b"query", ttl=64, chksum=None, **ip_kw) -> Packet:
    u = UDP(sport=sport, dport=dport) if chksum is None else UDP(sport=sport, dport=dport,
                                                                   chksum=chksum)
    return ip(src, dst, ttl=ttl, **ip_kw) / u / Raw(load)


def via_backend(var: str, l3: Packet, candidates=BACKENDS) -> "Pick":
    """`l3` leaving the server port toward the back-end the flow `var` was given (dsr)."""
    return Pick(var, tuple(candidates), lambda b: to_backend(b) / l3)


# ---------------------------------------------------------------------------------------------
# Cases

@dataclasses.dataclass(frozen=True)
class Pick:
    """An expected frame that depends on the back-end the load balancer chooses.

    `template(backend)` gives the frame. Every Pick with the same `var` in a case must resolve to
    the same back-end (one flow, one back-end), chosen among `candidates`."""
    var: str
    candidates: tuple
    template: Callable[[Backend], Packet]


@dataclasses.dataclass
class Case:
    name: str
    description: str
    inputs: dict            # "port" or "port:queue" -> [frames]
    expect: dict            # "port" or "port:queue" -> [frames or Pick]; absent: nothing
    counters: dict = dataclasses.field(default_factory=dict)  # event counters; others must be 0
    drops: dict = dataclasses.field(default_factory=dict)     # exactly the non-zero drops
    worker_counters: dict = dataclasses.field(default_factory=dict)  # worker -> event counters
    services: list | None = None   # default: the fixture file's shared list
    config: dict = dataclasses.field(default_factory=dict)    # top-level keys merged in
    workers: int = 1               # also the number of queues per port
    ignore: tuple = ()             # fields not to compare, e.g. ("IP.id",)
    bug: str | None = None         # known daemon bug: the case is a strict xfail


# Event counters that every case checks: the ones not named in Case.counters must stay 0.
VERDICT_COUNTERS = ("dsr_forwarded", "nat_forwarded", "nat_reversed", "flows_created",
                    "flows_consistent", "icmp_errors_to_backend", "transit_forwarded",
                    "to_kernel", "from_kernel", "resets_sent", "echo_replies",
                    "port_unreachables", "flows_reused", "flows_untracked",
                    "flows_evicted_half_open", "flows_evicted_closing", "syn_cookies_sent",
                    "syn_cookies_validated", "syn_proxy_backend_syns", "syn_proxy_backend_acks",
                    "fragments_held", "datagrams_reassembled", "fragments_sent")
CHECKSUM_FIELDS = ("chksum", "cksum")


def _key(key: str) -> tuple[str, int]:
    port, _, queue = key.partition(":")
    return port, int(queue or 0)


def render_config(case: Case, shared_services: list, workdir: str, prefix: str,
                  repeat: int = 1) -> dict:
    ports = []
    for p in PORTS:
        rx, tx = [], []
        for q in range(case.workers):
            frames = []
            for key, value in case.inputs.items():
                if _key(key) == (p["name"], q):
                    frames += value
            rx_path = os.path.join(workdir, f"in-{p['name']}-{q}.pcap")
            wrpcap(rx_path, frames * repeat, linktype=1)
            rx.append(f"rx_pcap={rx_path}")
            tx_path = os.path.join(workdir, f"out-{p['name']}-{q}.pcap")
            tx.append(f"tx_pcap={tx_path}")
        index = len(ports)
        ports.append({"name": p["name"], "device": ",".join([f"net_pcap{index}"] + rx + tx),
                      "mac": p["mac"], "addresses": p["addresses"], "exception_path": False})
    config = {
        "workers": case.workers,
        "mbufs": 4095,
        "eal": {"args": ["--no-huge", "-m", "256", "--file-prefix", prefix,
                         "--log-level", "*:warning"]},
        "flow_table": {"capacity": 4096},
        "ports": ports, "neighbors": NEIGHBORS, "routes": ROUTES,
        "services": case.services if case.services is not None else shared_services,
    }
    if case.workers > 1:
        # The main lcore on CPU 0, the workers on CPU 1: "0@0,1@1,2@1".
        config["eal"]["lcores"] = "0@0," + ",".join(f"{w + 1}@1" for w in range(case.workers))
    for k, v in case.config.items():
        config[k] = v
    return config


_run_ids = itertools.count()


@dataclasses.dataclass
class Result:
    outputs: dict   # (port, queue) -> [raw frame bytes]
    stats: dict
    seconds: float


def run_case(case: Case, shared_services: list, repeat: int = 1) -> Result:
    """Runs fairwayd once on the case's inputs (each port's input repeated `repeat` times)."""
    workdir = tempfile.mkdtemp(prefix="fw-golden-")
    prefix = f"fwg{os.getpid()}-{next(_run_ids)}"
    try:
        cfg_path = os.path.join(workdir, "cfg.yaml")  # JSON is YAML
        with open(cfg_path, "w") as f:
            json.dump(render_config(case, shared_services, workdir, prefix, repeat), f, indent=1)
        stats_path = os.path.join(workdir, "stats.json")
        start = time.monotonic()
        for attempt in range(5):  # the binary may be relinked under us in a shared tree
            try:
                proc = subprocess.run([FAIRWAYD, "-c", cfg_path, "--idle-exit-ms",
                                       str(IDLE_EXIT_MS), "--stats-file", stats_path],
                                      capture_output=True, text=True,
                                      timeout=RUN_TIMEOUT_S)  # on timeout the child is killed
                break
            except OSError:
                if attempt == 4:
                    raise
                time.sleep(2)
        seconds = time.monotonic() - start
        if proc.returncode != 0 or not os.path.exists(stats_path):
            raise AssertionError(f"{case.name}: fairwayd exited {proc.returncode}\n{proc.stderr}")
        with open(stats_path) as f:
            stats = json.load(f)
        outputs = {}
        for p in PORTS:
            for q in range(case.workers):
                path = os.path.join(workdir, f"out-{p['name']}-{q}.pcap")
                outputs[(p["name"], q)] = [bytes(x) for x in rdpcap(path)]
        return Result(outputs, stats, seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "golden tests need root (DPDK EAL)"
    if not os.access(FAIRWAYD, os.X_OK):
        return f"fairwayd not built: {FAIRWAYD} (set FAIRWAYD)"
    return None


def run_all(cases: list, shared_services: list) -> dict:
    """name -> Result or the exception it raised; daemons run JOBS at a time."""
    def one(case):
        try:
            return run_case(case, shared_services)
        except Exception as e:  # reported by the case's own test
            return e
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        return dict(zip([c.name for c in cases], pool.map(one, cases)))


def params(cases: list) -> list:
    """pytest parameters, with strict xfail for the cases that document a known bug."""
    import pytest
    assert len({c.name for c in cases}) == len(cases), "case names must be unique"
    return [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(reason="BUG: " + c.bug,
                                                                strict=True)] if c.bug else [])
            for c in cases]


# ---------------------------------------------------------------------------------------------
# Comparison

def _layers(pkt: Packet):
    """(name, layer) pairs; a class seen twice is named "IP#2"."""
    seen = {}
    layer = pkt
    while not isinstance(layer, NoPayload):
        name = layer.__class__.__name__
        seen[name] = seen.get(name, 0) + 1
        yield (name if seen[name] == 1 else f"{name}#{seen[name]}"), layer
        layer = layer.payload


def _fields(pkt: Packet) -> dict:
    out = {}
    for lname, layer in _layers(pkt):
        for f in layer.fields_desc:
            value = layer.getfieldval(f.name)
            try:
                shown = f.i2repr(layer, value)
            except Exception:
                shown = repr(value)
            out[f"{lname}.{f.name}"] = (value, shown)
    return out


def _pinned_checksums(expected: Packet) -> set:
    """Checksum fields the case sets explicitly (e.g. UDP chksum=0): compared, not recomputed."""
    pinned = set()
    for (lname, layer), (nname, _) in zip(_layers(expected), _layers(Ether(bytes(expected)))):
        for f in CHECKSUM_FIELDS:
            if f in layer.fields:
                pinned.add(f"{nname}.{f}")
    return pinned


def _quote_is_whole(layer: Packet) -> bool:
    """False for the L4 header of an ICMP quote cut before the end of its datagram."""
    under = layer.underlayer
    while under is not None and under.__class__.__name__ not in ("IPerror", "IPerror6"):
        under = under.underlayer
    if under is None or under is layer:
        return True
    whole = under.len if under.__class__.__name__ == "IPerror" else 40 + under.plen
    return len(bytes(under)) >= whole


def checksum_errors(raw: bytes, skip=frozenset()) -> list[str]:
    """Every IP / L4 / ICMP checksum of the frame, recomputed by scapy one at a time."""
    errors = []
    got = Ether(raw)
    for index, (lname, layer) in enumerate(_layers(got)):
        for f in CHECKSUM_FIELDS:
            if f"{lname}.{f}" in skip or f not in [x.name for x in layer.fields_desc]:
                continue
            if not lname.startswith("IPerror") and not _quote_is_whole(layer):
                continue
            copy = got.copy()
            delattr(list(_layers(copy))[index][1], f)
            want = list(_layers(Ether(bytes(copy))))[index][1].getfieldval(f)
            have = layer.getfieldval(f)
            if want != have:
                errors.append(f"{lname}.{f}: got {have:#06x}, recomputed {want:#06x} (invalid)")
    return errors


def frame_diff(expected: Packet, raw: bytes, ignore=()) -> list[str]:
    exp = Ether(bytes(expected))
    got = Ether(raw)
    pinned = _pinned_checksums(expected)
    e, g = _fields(exp), _fields(got)
    lines = []
    for name in list(e) + [n for n in g if n not in e]:
        if name in ignore or name.split("#")[0] in ignore:
            continue
        if name.rsplit(".", 1)[1] in CHECKSUM_FIELDS and name not in pinned:
            continue
        ev, gv = e.get(name), g.get(name)
        if ev is None or gv is None or ev[0] != gv[0]:
            lines.append(f"{name:24} expected {ev[1] if ev else '(absent)':<28} "
                         f"got {gv[1] if gv else '(absent)'}")
    lines += checksum_errors(raw, skip=pinned)
    return lines


def _resolve(item, bindings: dict, raw: bytes | None, ignore) -> Packet:
    if not isinstance(item, Pick):
        return item
    if item.var in bindings:
        return item.template(bindings[item.var])
    best = min(item.candidates,
               key=lambda b: len(frame_diff(item.template(b), raw, ignore)) if raw else 0)
    bindings[item.var] = best
    return item.template(best)


def _counter_diff(title: str, expected: dict, got: dict) -> list[str]:
    lines = []
    for name in VERDICT_COUNTERS:
        want, have = expected.get(name, 0), got.get(name, 0)
        if want != have:
            lines.append(f"{title}{name}: expected {want}, got {have}")
    unknown = set(expected) - set(VERDICT_COUNTERS) - {"rx_packets", "tx_packets"}
    assert not unknown, f"unknown counters in the case: {unknown}"
    for name in ("rx_packets", "tx_packets"):
        if name in expected and expected[name] != got.get(name):
            lines.append(f"{title}{name}: expected {expected[name]}, got {got.get(name)}")
    return lines


def check(case: Case, result) -> None:
    """Fails the test with every difference between the case and the run, field by field."""
    if isinstance(result, BaseException):
        import pytest
        pytest.fail(str(result), pytrace=False)
    problems = []
    bindings = {}
    for key in sorted(set(result.outputs) | {_key(k) for k in case.expect}):
        wanted = [v for k, vals in case.expect.items() if _key(k) == key for v in vals]
        got = result.outputs.get(key, [])
        label = f"port {key[0]} queue {key[1]}"
        if len(wanted) != len(got):
            problems.append(f"{label}: expected {len(wanted)} frame(s), got {len(got)}")
        for i in range(max(len(wanted), len(got))):
            raw = got[i] if i < len(got) else None
            if i >= len(wanted):
                problems.append(f"{label} frame {i}: unexpected {Ether(raw).summary()}")
                continue
            exp = _resolve(wanted[i], bindings, raw, case.ignore)
            if raw is None:
                problems.append(f"{label} frame {i}: missing {Ether(bytes(exp)).summary()}")
                continue
            diff = frame_diff(exp, raw, case.ignore)
            if diff:
                problems.append(f"{label} frame {i}: {Ether(raw).summary()}")
                problems += ["    " + d for d in diff]
    counters = result.stats["counters"]
    n_in = sum(len(v) for v in case.inputs.values())
    n_out = sum(len(v) for v in case.expect.values())
    problems += _counter_diff("", {"rx_packets": n_in, "tx_packets": n_out, **case.counters},
                              counters)
    if counters.get("drops", {}) != case.drops:
        problems.append(f"drops: expected {case.drops}, got {counters.get('drops', {})}")
    for worker, expected in case.worker_counters.items():
        got = result.stats["workers"][worker]["counters"]
        problems += _counter_diff(f"worker {worker} ", expected, got)
    if problems and bindings:
        problems.append("chosen: " + ", ".join(f"{k}={getattr(b, 'name', b)}" for k, b in bindings.items()))
    if problems:
        import pytest
        pytest.fail(f"{case.name}: {case.description}\n" + "\n".join(problems), pytrace=False)


# ---------------------------------------------------------------------------------------------
# Timing: python3 golden.py test_dsr [CASE] --repeat N

if __name__ == "__main__":
    import argparse
    import importlib
    parser = argparse.ArgumentParser(description="repeat golden cases for timing")
    parser.add_argument("module"), parser.add_argument("case", nargs="?")
    parser.add_argument("--repeat", type=int, default=1000)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    mod = importlib.import_module(args.module.removesuffix(".py"))
    for c in mod.CASES:
        if args.case in (None, c.name):
            r = run_case(c, getattr(mod, "SERVICES", SERVICES), repeat=args.repeat)
            k = r.stats["counters"]
            print(f"{c.name:40} {k['rx_packets']:>9} pkts  "
                  f"{k['busy_cycles'] / max(k['rx_packets'], 1):8.0f} cycles/pkt  {r.seconds:.2f} s")
