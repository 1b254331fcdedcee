"""The control processor in the namespace lab: live changes under load, and health checks.

- 200 changes through the control API (weights, drains, back-ends removed and added, a service
  added and removed, a reload) while clients open and use connections to a dsr and a nat VIP
  without pause: no connection may fail or be reset, and none may change back-end.
- An HTTP health check on the nat service: a back-end whose server stops is marked down within
  fall x interval (+ the check's timeout), new connections go only to the others, and it is back
  in service within rise x interval once its server runs again.

Run as root: /usr/bin/python3 -m pytest -q tests/lab/test_lab_control.py
"""
import json
import os
import random
import subprocess
import time

import pytest

from labnet import CLIENT, PY, VIP4_DSR, VIP4_NAT, Lab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")

CHANGES = 200


def churn(lab, vip, stop_file):
    """lab/client.py churn in the client namespace, in the background."""
    return subprocess.Popen(["ip", "netns", "exec", lab.ns("cli"), PY, CLIENT, "churn", vip, "80",
                             "--seconds", "120", "--long", "3", "--stop-file", stop_file],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def change(lab, i):
    """The i-th change: a cycle of ten kinds; the reload comes where the running configuration
    equals the file again, so the cycle goes on from the same state."""
    kind = i % 10
    if i == CHANGES // 2:
        return lab.api("POST", "/api/v1/reload")
    if kind == 0:
        return lab.api("PUT", "/api/v1/services/web-nat/backends/198.18.1.11:8080",
                       {"weight": random.randint(1, 5)})
    if kind == 1:
        return lab.api("PUT", "/api/v1/services/web-dsr/backends/198.18.1.12:80",
                       {"weight": random.randint(1, 5)})
    if kind == 2:
        return lab.api("PUT", "/api/v1/services/web-nat/backends/198.18.1.12:8080", {"drain": True})
    if kind == 3:
        return lab.api("PUT", "/api/v1/services/web-nat/backends/198.18.1.12:8080", {"drain": False})
    if kind == 4:
        return lab.api("DELETE", "/api/v1/services/web-nat/backends/198.18.1.13:8080")
    if kind == 5:
        return lab.api("POST", "/api/v1/services/web-nat/backends",
                       {"address": "198.18.1.13", "port": 8080, "weight": 3})
    if kind == 6:
        return lab.api("POST", "/api/v1/services",
                       {"name": "extra", "vip": "198.18.100.3", "port": 80, "protocol": "tcp",
                        "backends": [{"address": "198.18.1.11"}, {"address": "198.18.1.12"}]})
    if kind == 7:
        return lab.api("DELETE", "/api/v1/services/extra")
    if kind == 8:
        return lab.api("DELETE", "/api/v1/services/web-dsr/backends/198.18.1.11:80")
    return lab.api("POST", "/api/v1/services/web-dsr/backends", {"address": "198.18.1.11", "weight": 1})


def test_200_changes_under_load_break_no_connection():
    random.seed(4)
    with Lab() as lab:
        stop_file = os.path.join(lab.logdir, "stop-churn")
        clients = {vip: churn(lab, vip, stop_file) for vip in (VIP4_NAT, VIP4_DSR)}
        try:
            time.sleep(2)  # connections in flight on every back-end before the first change
            version_before = lab.api("GET", "/api/v1/status")[1]["snapshot_version"]
            for i in range(CHANGES):
                status, answer = change(lab, i)
                assert status in (200, 201), "change %d: %s %s" % (i, status, answer)
            time.sleep(2)  # and after the last
        finally:
            open(stop_file, "w").close()
        results = {}
        for vip, proc in clients.items():
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results[vip] = json.loads(out)
        status = lab.api("GET", "/api/v1/status")[1]
        assert status["snapshot_version"] >= version_before + CHANGES
        assert all(w["snapshot_version"] == status["snapshot_version"] for w in status["workers"])
        # Each service's traffic, summed over its back-ends, within what the workers forwarded
        # (back-ends removed and forgotten along the way took their counts with them): nat both
        # ways, dsr only towards the back-ends.
        stats = lab.api("GET", "/api/v1/stats")[1]
        totals = stats["counters"]
        by_name = {s["name"]: s["counters"] for s in stats["services"]}
        nat, dsr = by_name["web-nat"], by_name["web-dsr"]
        print("web-nat %s; web-dsr %s; workers %s" % (
            nat, dsr, {k: totals[k] for k in ("nat_forwarded", "nat_reversed", "dsr_forwarded")}))
        assert 0 < nat["packets_in"] <= totals["nat_forwarded"], (nat, totals)
        assert 0 < nat["packets_out"] <= totals["nat_reversed"], (nat, totals)
        assert nat["bytes_in"] >= 54 * nat["packets_in"] and nat["bytes_out"] >= 54 * nat["packets_out"]
        assert 0 < dsr["packets_in"] <= totals["dsr_forwarded"] and dsr["packets_out"] == 0, dsr
        counters = lab.stop_fairwayd()
    for vip, r in results.items():
        summary = {k: r[k] for k in ("connections", "requests", "failed", "switched", "errors",
                                     "backends")}
        print("churn %s: %s" % (vip, summary))
        assert r["failed"] == 0, (vip, r["errors"], r["failures"])
        assert r["switched"] == 0, (vip, summary)
        assert r["connections"] >= 50, (vip, summary)
        assert set(r["backends"]) == {"be1", "be2", "be3"}, (vip, summary)
    assert counters is not None
    assert counters["counters"]["resets_sent"] == 0, counters["counters"]


def with_health_check(config):
    for service in config["services"]:
        if service["name"] == "web-nat":
            service["health_check"] = {"type": "http", "path": "/health", "interval": "500ms",
                                       "timeout": "300ms", "rise": 2, "fall": 2}


INTERVAL, TIMEOUT, RISE, FALL = 0.5, 0.3, 2, 2


def health_of(lab, service="web-nat"):
    services = {s["name"]: s for s in lab.api("GET", "/api/v1/services")[1]}
    return {b["backend"].split(":")[0]: b["health"]["state"] for b in services[service]["backends"]}


def wait_health(lab, address, state, seconds):
    start = time.monotonic()
    while health_of(lab).get(address) != state:
        assert time.monotonic() - start < seconds, (
            "%s not %s after %.1f s: %s" % (address, state, seconds, health_of(lab)))
        time.sleep(0.1)
    return time.monotonic() - start


def test_health_check_failover_and_return():
    with Lab(config_edit=with_health_check) as lab:
        wait_health(lab, "198.18.1.11", "up", 10)
        wait_health(lab, "198.18.1.12", "up", 10)
        wait_health(lab, "198.18.1.13", "up", 10)

        lab.stop_http_server("be2")
        # fall failures, one per interval, each at most `timeout` late; slack for a busy machine
        took_down = wait_health(lab, "198.18.1.12", "down", FALL * INTERVAL + TIMEOUT + 3)
        print("be2 marked down %.2f s after its server stopped (fall x interval = %.1f s)"
              % (took_down, FALL * INTERVAL))
        r = lab.client("http", VIP4_NAT, 80, "-n", "120")
        assert r["errors"] == {} and r["ok"] == 120, r
        assert set(r["backends"]) == {"be1", "be3"}, r
        # the dsr service has no health check: be2 is still in it (and its server is gone)
        dsr = {s["name"]: s for s in lab.api("GET", "/api/v1/services")[1]}["web-dsr"]
        assert all(b["state"] == "up" for b in dsr["backends"])

        lab.start_http_server("be2")
        took_up = wait_health(lab, "198.18.1.12", "up", RISE * INTERVAL + TIMEOUT + 5)
        print("be2 back up %.2f s after its server restarted (rise x interval = %.1f s)"
              % (took_up, RISE * INTERVAL))
        r = lab.client("http", VIP4_NAT, 80, "-n", "120")
        assert r["errors"] == {} and r["ok"] == 120, r
        assert set(r["backends"]) == {"be1", "be2", "be3"}, r
        metrics = lab.run("lb", PY, "-c", "import urllib.request;print(urllib.request.urlopen("
                          "'http://127.0.0.1:9180/metrics',timeout=10).read().decode())").stdout
        assert 'fairway_backend_healthy{service="web-nat",backend="198.18.1.12:8080"} 1' in metrics
        assert lab.stop_fairwayd() is not None
