#!/usr/bin/env python3
"""Prints the lab demo's results plainly (called by lab/demo.sh with the run's result dir).

Exit status 1 when a check failed. The distribution check uses the same band as the lab tests
(tests/lab/test_lab.py): 3.5 binomial standard deviations, at least 5 percentage points.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stats_json import last_json_object  # noqa: E402

WEIGHTS = {"be1": 1, "be2": 2, "be3": 3}
BACKENDS = {"be1": ("198.18.1.11", "2001:2:0:1::11"), "be2": ("198.18.1.12", "2001:2:0:1::12"),
            "be3": ("198.18.1.13", "2001:2:0:1::13")}
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
    return "ok" if ok else "FAILED"


def load(d, name):
    p = os.path.join(d, name)
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        failures.append("%s: %s" % (name, e))
        return None


def distribution(title, r, mode, v6):
    if r is None:
        return
    n = r["n"]
    print("\n%s  %s  (%s) - %d connections, one request each: %d answered%s"
          % (title, ("[%s]:%d" if v6 else "%s:%d") % (r["host"], r["port"]), mode, n, r["ok"],
             "" if not r["errors"] else ", errors: %s" % r["errors"]))
    check(r["ok"] == n and not r["errors"], "%s: %d of %d connections answered" % (title, r["ok"], n))
    wsum = sum(WEIGHTS.values())
    print("    back-end  weight  expected     served  share")
    for be, w in sorted(WEIGHTS.items()):
        p = w / wsum
        tol = max(0.05, 3.5 * math.sqrt(p * (1 - p) / max(n, 1)))
        got = r["backends"].get(be, 0)
        share = got / n if n else 0
        ok = abs(share - p) <= tol
        check(ok, "%s: %s got %.1f%%, expected %.1f%% +- %.1f pp" % (title, be, 100 * share, 100 * p, 100 * tol))
        print("    %-8s  %6d  %5.1f%% +-%4.1f  %5d  %5.1f%%  %-30s %s"
              % (be, w, 100 * p, 100 * tol, got, 100 * share, "#" * round(30 * share), "" if ok else "<- outside"))
    # what the back-ends saw
    seen_client = sum(1 for c in r["conns"] if c["answers"][0]["client"] == c["local"])
    if mode == "dsr":
        vip = ("[%s]:80" if v6 else "%s:80") % r["host"]
        seen_vip = sum(1 for c in r["conns"] if c["answers"][0]["server"] == vip)
        print("    back-ends saw the client's own address:port on %d of %d connections, and the VIP %s as"
              " destination on %d (%s)" % (seen_client, len(r["conns"]), vip, seen_vip,
                                          check(seen_client == seen_vip == len(r["conns"]) == n, title + " addresses")))
    else:
        right = sum(1 for c in r["conns"] if c["answers"][0]["server"] ==
                    ("[%s]:8080" if v6 else "%s:8080") % BACKENDS[c["answers"][0]["backend"]][1 if v6 else 0])
        print("    back-ends saw the client's real address:port (no SNAT) on %d of %d connections, their own"
              " address:8080 as destination on %d (%s)" % (seen_client, len(r["conns"]), right,
                                                         check(seen_client == right == len(r["conns"]) == n,
                                                               title + " addresses")))


def keepalive(title, r):
    if r is None:
        return
    same = sum(1 for c in r["conns"] if len({a["backend"] for a in c["answers"]}) == 1
               and [int(a["n"]) for a in c["answers"]] == list(range(1, r["requests"] + 1)))
    print("%s: %d keep-alive connections x %d requests: %d answered, every request of a connection served"
          " by the same back-end on the same connection: %d of %d (%s)"
          % (title, r["n"], r["requests"], r["ok"], same, r["n"], check(same == r["n"], title)))


def udp(title, r):
    if r is None:
        return
    frm = {(a["from"], a["from_port"]) for a in r["answers"]}
    rtts = sorted(a["rtt_ms"] for a in r["answers"])
    hp = ("[%s]:%d" if ":" in r["host"] else "%s:%d") % (r["host"], r["port"])
    size = " of %d bytes (fragmented)" % r["size"] if r.get("size", 0) > 1472 else ""
    print("%s  %s - %d datagrams%s from %d source ports: %d answered (%s), by %s; answers came from %s;"
          " rtt median %.2f ms"
          % (title, hp, r["n"], size, r["n"], r["ok"], check(r["ok"] == r["n"], title),
             ", ".join("%s %d" % kv for kv in sorted(r["backends"].items())),
             ", ".join(("[%s]:%d" if ":" in f[0] else "%s:%d") % f for f in sorted(frm)) or "-", rtts[len(rtts) // 2] if rtts else float("nan")))
    check(frm == {(r["host"], r["port"])}, title + ": answers must come from the VIP")


def reset(r):
    if r is None:
        return
    print("unserved port %s: %s after %.1f ms (%s)"
          % (("[%s]:%d" if ":" in r["host"] else "%s:%d") % (r["host"], r["port"]), {"refused": "connection refused - TCP reset"}.get(r["result"], r["result"]),
             r["elapsed_ms"], check(r["result"] == "refused", "reset %s:%d" % (r["host"], r["port"]))))


def live_change(d):
    """be3 drained and undrained through fairwayctl while a client churned connections."""
    drained_path = os.path.join(d, "drained-nat.json")
    if not os.path.exists(drained_path):
        return  # not a fairwayd run
    print("\nlive change: `fairwayctl backend set web-nat 198.18.1.13:8080 --drain`, then --undrain,"
          " while a client kept opening and using connections to web-nat:")
    drained = load(d, "drained-nat.json")
    if drained:
        served = drained.get("backends", {})
        print("    new connections while be3 was drained: %s  %s"
              % (", ".join("%s %d" % kv for kv in sorted(served.items())),
                 check(served.get("be3", 0) == 0 and drained["ok"] == drained["n"],
                       "no new connection to a drained back-end")))
    try:
        with open(os.path.join(d, "services-drained.txt")) as f:
            print("    fairwayctl services (while drained):")
            for line in f:
                if "web-nat" in line or line.startswith("SERVICE"):
                    print("      " + line.rstrip())
    except OSError:
        pass
    churn = load(d, "churn.json")
    if churn:
        print("    meanwhile: %d connections, %d requests, %d failed, %d changed back-end  %s"
              % (churn["connections"], churn["requests"], churn["failed"], churn["switched"],
                 check(churn["failed"] == 0 and churn["switched"] == 0 and churn["connections"] > 0,
                       "no connection broken by the change")))


def flatten(prefix, v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            flatten("%s.%s" % (prefix, k) if prefix else str(k), x, out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            name = x.get("name", x.get("worker", i)) if isinstance(x, dict) else i
            flatten("%s[%s]" % (prefix, name), x, out)
    else:
        out.append((prefix, v))


def counters(d):
    p = os.path.join(d, "fairwayd-stats.json")  # --stats-file; else the JSON fairwayd prints on exit
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        p = os.path.join(d, "fairwayd.log")
    if not os.path.exists(p):
        return
    with open(p, errors="replace") as f:
        obj = last_json_object(f.read())
    print("\nfairwayd's counters (printed on exit, from %s):" % p)
    if obj is None:
        print("    none found in the log")
        failures.append("no counters in the fairwayd log")
        return
    items = []
    flatten("", obj, items)
    shown = [(k, v) for k, v in items if not (isinstance(v, (int, float)) and v == 0) and v not in ({}, [])]
    width = max((len(k) for k, _ in shown), default=10)
    for k, v in shown:
        print("    %-*s  %s" % (width, k, v))
    zero = len(items) - len(shown)
    if zero:
        print("    (%d counters are zero and not shown; full JSON in the log)" % zero)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--lb", default="fairwayd")
    ap.add_argument("--prefix", default="")
    a = ap.parse_args()
    d = a.dir
    print("\n==== Fairway lab demo (lab %s) - load balancer: %s" % (a.prefix, a.lb))
    print("client 198.18.0.2 / 2001:2::2  ->  box 198.18.0.1 | 198.18.1.1  ->  be1 .11, be2 .12, be3 .13;"
          " weights 1:2:3")
    try:
        with open(os.path.join(d, "ping.jsonl")) as f:
            for line in f:
                p = json.loads(line)
                print("ping of the box's own address %s through the load balancer: %s"
                      % (p["host"], check(p["ok"], "ping " + p["host"])))
    except (OSError, ValueError) as e:
        failures.append("ping: %s" % e)
    distribution("web-dsr ", load(d, "web-dsr.json"), "dsr", False)
    distribution("web-nat ", load(d, "web-nat.json"), "nat", False)
    distribution("web6-dsr", load(d, "web6-dsr.json"), "dsr", True)
    distribution("web6-nat", load(d, "web6-nat.json"), "nat", True)
    print()
    keepalive("web-dsr", load(d, "keepalive-dsr.json"))
    keepalive("web-nat", load(d, "keepalive-nat.json"))
    print()
    udp("dns-dsr ", load(d, "dns-dsr.json"))
    udp("dns6-dsr", load(d, "dns6-dsr.json"))
    udp("dns-dsr ", load(d, "dns-dsr-big.json"))
    udp("dns6-dsr", load(d, "dns6-dsr-big.json"))
    print()
    reset(load(d, "reset.json"))
    reset(load(d, "reset6.json"))
    live_change(d)
    counters(d)
    print()
    if failures:
        print("==== %d check(s) FAILED:" % len(failures))
        for f in failures:
            print("    - " + f)
        return 1
    print("==== all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
