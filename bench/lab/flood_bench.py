#!/usr/bin/python3
"""Real clients during a spoofed SYN flood: Fairway (dsr, nat) versus nftables DNAT, on the
namespace lab of docs/LAB.md. Prints a table; asserts nothing.

    sudo /usr/bin/python3 bench/lab/flood_bench.py            # ~2 minutes
    sudo /usr/bin/python3 bench/lab/flood_bench.py -d 30 --targets fairwayd-nat,nftables-nat
    options: -d SECONDS (flood length, 5..120, default 20)  --rate N (new connections a second,
             1..200, default 50)  --hold N (keep-alive connections held, 0..100, default 20)
             --capacity N (fairwayd's flow_table.capacity, default its own)  --targets LIST
             (fairwayd-dsr, fairwayd-nat, nftables-nat; default all)  -m FILE (also write the
             table as Markdown)
    FAIRWAYD=/path/fairwayd (default build/fairwayd)

For each target, on a fresh lab (no state carried over: flow table, conntrack, neighbour caches):
lab/client.py steady at the target's VIP (one-request connections at --rate a second, plus --hold
keep-alive connections with a request a second each, client timeout 4 s) for 3 s alone, then for
-d seconds beside `hping3 -S -p 80 --flood --rand-source VIP` from the client namespace (nice 19;
with fairwayd pinned off its worker's CPU, see tests/lab/labflood.py), then 3 s after.

Columns: the flood offered (hping3's own count / s) and taken (frames the load balancer's client
port received / s: fairwayd's device counter; for nftables lb-cli's kernel counter), frames the
kernel dropped on lb-cli before the load balancer had them, the new connections started during
the flood that succeeded (and %), p50 and p99 of their connect+request time, the same p99 in the
3 s before the flood, held connections broken, and the state left at the end (fairwayd's flow
table entries, or nf_conntrack_count).

Caveats: a 2-CPU machine runs the flood, the clients, the back-ends and the load balancer; on
veth, the load balancer's transmit runs the back-ends' kernels in its own context (for fairwayd:
inside the worker's system call). The figures compare the two on this lab; they are not the
capacity of either on real NICs.

Lab rules: own namespaces (labnet.Lab), 198.18.0.0/15 only (hping3's random sources never leave
the lab's namespaces: nothing routes them), every load bounded (client --seconds, hping3 under
timeout), everything torn down, also on errors and Ctrl-C.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))

from labflood import Flood, xdp_dropped  # noqa: E402
from labnet import CLIENT, PY, VIP4_DSR, VIP4_NAT, Lab  # noqa: E402

TARGETS = {"fairwayd-dsr": ("fairwayd", VIP4_DSR), "fairwayd-nat": ("fairwayd", VIP4_NAT),
           "nftables-nat": ("nftables", VIP4_NAT)}
BEFORE, AFTER, CLIENT_TIMEOUT = 3.0, 3.0, 4


def link_rx(lab, ifname="lb-cli"):
    r = lab.run("lb", "ip", "-s", "-j", "link", "show", ifname, timeout=10)
    try:
        return json.loads(r.stdout)[0]["stats64"]["rx"]["packets"]
    except (ValueError, LookupError):
        return 0


def received(lab):
    """Frames the load balancer took on its client side."""
    if lab.lb == "fairwayd":
        s = lab.api("GET", "/api/v1/stats")[1]
        return next(p["device"]["rx_packets"] for p in s["ports"] if p["name"] == "client")
    return link_rx(lab)


def state_entries(lab):
    if lab.lb == "fairwayd":
        return lab.api("GET", "/api/v1/stats")[1]["flows"]
    r = lab.run("lb", "cat", "/proc/sys/net/netfilter/nf_conntrack_count", timeout=10)
    return int(r.stdout.strip() or 0)


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * (len(sorted_values) - 1) + 0.5))]


def run_target(name, a):
    lb, vip = TARGETS[name]
    edit = None
    if lb == "fairwayd" and a.capacity:
        def edit(config):
            config.setdefault("flow_table", {})["capacity"] = a.capacity
    with Lab(lb=lb, config_edit=edit) as lab:
        seconds = BEFORE + a.duration + AFTER
        proc = subprocess.Popen(["ip", "netns", "exec", lab.ns("cli"), PY, CLIENT, "steady", vip, "80",
                                 "--hold", str(a.hold), "--rate", str(a.rate), "--seconds", str(seconds),
                                 "--timeout", str(CLIENT_TIMEOUT)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        time.sleep(BEFORE)
        rx0, x0 = received(lab), xdp_dropped(lab)
        flood = Flood(lab, a.duration, "-S", "-p", 80, "--flood", "--rand-source", vip)
        elapsed = flood.wait()
        rx1, x1, entries = received(lab), xdp_dropped(lab), state_entries(lab)
        out, err = proc.communicate(timeout=seconds + 60)
        if proc.returncode != 0:
            raise RuntimeError("client failed: %s" % err[-2000:])
        r = json.loads(out)
    t0, t1 = flood.started, flood.ended
    during = [x for x in r["records"] if t0 <= x[0] < t1]
    before = [x for x in r["records"] if x[0] < t0]
    ok = sorted(x[1] for x in during if x[2] is None)
    ok_before = sorted(x[1] for x in before if x[2] is None)
    sent = flood.sent()
    return {"target": name, "flood_s": elapsed,
            "offered_pps": sent / elapsed if sent else float("nan"),
            "taken_pps": (rx1 - rx0) / elapsed, "dropped_before_lb": x1 - x0,
            "ok": len(ok), "n": len(during), "p50_ms": percentile(ok, 0.5),
            "p99_ms": percentile(ok, 0.99), "p99_before_ms": percentile(ok_before, 0.99),
            "held_broken": r["held_broken"], "held": a.hold, "errors": r["errors"],
            "state_entries": entries}


def table(rows, a):
    head = ("| target | flood offered (pps) | taken by the LB (pps) | dropped on lb-cli | "
            "connections ok during the flood | p50 (ms) | p99 (ms) | p99 before (ms) | "
            "held broken | state entries at the end |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for x in rows:
        lines.append("| %s | %.0f | %.0f | %d | %d/%d (%.2f %%) | %.1f | %.1f | %.1f | %d/%d | %d |"
                     % (x["target"], x["offered_pps"], x["taken_pps"], x["dropped_before_lb"],
                        x["ok"], x["n"], 100.0 * x["ok"] / x["n"] if x["n"] else float("nan"),
                        x["p50_ms"], x["p99_ms"], x["p99_before_ms"], x["held_broken"], x["held"],
                        x["state_entries"]))
    notes = ("flood %g s of hping3 -S -p 80 --flood --rand-source; real clients: %g new connections/s "
             "(timeout %d s), %d held; fairwayd flow_table.capacity %s"
             % (a.duration, a.rate, CLIENT_TIMEOUT, a.hold, a.capacity or "default"))
    return "\n".join(lines) + "\n\n" + notes + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-d", "--duration", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--hold", type=int, default=20)
    ap.add_argument("--capacity", type=int, default=0)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("-m", "--markdown")
    a = ap.parse_args()
    if not 5 <= a.duration <= 120 or not 1 <= a.rate <= 200 or not 0 <= a.hold <= 100:
        ap.error("-d 5..120, --rate 1..200, --hold 0..100")
    if a.capacity and not 1024 <= a.capacity <= 67108864:
        ap.error("--capacity 1024..67108864")
    targets = a.targets.split(",")
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        ap.error("unknown targets %s (known: %s)" % (unknown, ", ".join(TARGETS)))
    if os.geteuid() != 0:
        sys.exit("flood_bench.py needs root (network namespaces)")
    for tool in ("hping3", "timeout", "taskset", "nft"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit("%s not installed (lab/packages.txt)" % tool)
    rows = []
    for t in targets:
        print("flood_bench: %s ..." % t, file=sys.stderr, flush=True)
        row = run_target(t, a)
        print("flood_bench: %s" % json.dumps(row), file=sys.stderr, flush=True)
        rows.append(row)
    text = table(rows, a)
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
