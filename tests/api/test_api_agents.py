"""Agents' load reports through the control API, and the least-load distributor they drive.

Against a running fairwayd (net_pcap ports, apilib.py) with load_feedback configured and service
`web` on `scheduler: least-load`. Reports are signed here with Python's hmac, as fairway-agent
signs them. Run as root: /usr/bin/python3 -m pytest -q tests/api
"""
import hashlib
import hmac
import json
import subprocess
import os
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import (FAIRWAYD, backends_of, ctl, get, get_json, running_daemon,  # noqa: E402
                    wait_for)

if os.geteuid() != 0:
    pytest.skip("fairwayd needs root (DPDK)", allow_module_level=True)
if not os.access(FAIRWAYD, os.X_OK):
    pytest.skip("%s not built" % FAIRWAYD, allow_module_level=True)

KEY = b"test-key-0123456789abcdef-test-key"
SEQUENCE = [int(time.time() * 1000)]


def least_load(config):
    config["load_feedback"] = {"key": KEY.decode(), "report_interval": "200ms", "stale_after": 3}
    web = config["services"][0]
    web["scheduler"] = "least-load"
    web["least_load"] = {"metric": "cpu", "idle_load": 1}


@pytest.fixture(scope="module")
def daemon():
    with running_daemon(least_load) as d:
        yield d


def report(address, cpu, sequence=None, **extra):
    if sequence is None:
        SEQUENCE[0] += 1
        sequence = SEQUENCE[0]
    body = {"agent": "agent-" + address, "address": address, "timestamp_ms": int(time.time() * 1000),
            "sequence": sequence, "interval_ms": 200, "cpu_percent": cpu, "memory_percent": 20.0,
            "active_clients": 3}
    body.update(extra)
    return json.dumps(body, separators=(",", ":"))


def post(listen, body, key=KEY, signature=None):
    if signature is None:
        signature = "sha256=" + hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request("http://%s/api/v1/agents/report" % listen, data=body.encode(),
                                 method="POST", headers={"X-Fairway-Signature": signature})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


def test_a_signed_report_is_kept_and_shown(daemon):
    code, answer = post(daemon.listen, report("198.18.1.11", 12.5, requests_per_second=40.0))
    assert code == 200, answer
    agents = get_json(daemon.listen, "/api/v1/agents")
    assert agents["enabled"] is True
    kept = {a["address"]: a for a in agents["agents"]}["198.18.1.11"]
    assert kept["report"]["cpu_percent"] == 12.5 and kept["report"]["requests_per_second"] == 40.0
    assert kept["stale"] is False and kept["age_seconds"] < 5
    be1 = backends_of(daemon.listen, "web")["198.18.1.11:80"]
    assert be1["report"]["cpu_percent"] == 12.5


@pytest.mark.parametrize("make,status,reason", [
    (lambda: (report("198.18.1.11", 10), b"wrong key, wrong key, wrong key!!", None), 401, "bad_signature"),
    (lambda: (report("198.18.1.11", 10), KEY, "sha256=00"), 401, "bad_signature"),
    (lambda: (report("198.18.1.11", 10), KEY, ""), 401, "bad_signature"),
    (lambda: (report("198.18.1.11", 10, sequence=1), KEY, None), 409, "replayed"),
    (lambda: (report("198.18.1.11", 101), KEY, None), 400, "out_of_range"),
    (lambda: (report("198.18.1.11", 10, weight=5), KEY, None), 400, "malformed"),
    (lambda: ("{not json", KEY, None), 400, "malformed"),
    (lambda: (report("198.18.1.11", 10, timestamp_ms=int(time.time() * 1000) - 3600_000), KEY, None),
     409, "clock_skew"),
])
def test_forged_replayed_and_malformed_reports_are_refused(daemon, make, status, reason):
    before = get_json(daemon.listen, "/api/v1/agents")
    body, key, signature = make()
    code, answer = post(daemon.listen, body, key, signature)
    assert code == status and answer["reason"] == reason, answer
    after = get_json(daemon.listen, "/api/v1/agents")
    assert after["rejected"][reason] == before["rejected"][reason] + 1
    assert after["accepted"] == before["accepted"]


def test_a_replayed_report_is_refused_even_when_signed(daemon):
    body = report("198.18.1.12", 30)
    assert post(daemon.listen, body)[0] == 200
    code, answer = post(daemon.listen, body)  # captured and sent again
    assert code == 409 and answer["reason"] == "replayed"


def test_least_load_moves_weight_away_from_a_busy_backend_and_back(daemon):
    def factors():
        b = backends_of(daemon.listen, "web")
        return b["198.18.1.11:80"], b["198.18.1.12:80"]

    def feed(cpu11, cpu12, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            post(daemon.listen, report("198.18.1.11", cpu11))
            post(daemon.listen, report("198.18.1.12", cpu12))
            time.sleep(0.1)

    feed(90, 10, 4)
    busy, idle = factors()
    assert busy["effective_weight"] < idle["effective_weight"], (busy, idle)
    assert busy["load"]["factor"] < 1 < idle["load"]["factor"], (busy, idle)
    assert "least-load" in busy["load"]["reason"]
    text = get(daemon.listen, "/metrics")[2]
    assert 'fairway_backend_load_factor{service="web",backend="198.18.1.11:80"}' in text
    assert 'fairway_backend_cpu_utilization_ratio{service="web",backend="198.18.1.11:80"} 0.9' in text
    assert 'fairway_agent_reports_total{result="bad_signature"} 3' in text

    # Reports stop: after stale_after intervals both fall back to their admin weight.
    wait_for(lambda: all(b["effective_weight"] == 100 for b in factors()), 10, "admin weights")
    busy, _ = factors()
    assert busy["report_stale"] is True
    assert "no fresh report" in busy["load"]["reason"]


def test_fairwayctl_shows_agents_and_why(daemon):
    post(daemon.listen, report("198.18.1.11", 55.5))
    table = ctl(daemon.listen, "agents")
    assert table.returncode == 0, table.stderr
    row = [line for line in table.stdout.splitlines() if line.startswith("198.18.1.11 ")]
    assert row and "55.5" in row[0], table.stdout
    assert "bad_signature 3" in table.stdout
    as_json = json.loads(ctl(daemon.listen, "-o", "json", "agents").stdout)
    assert as_json["enabled"] is True
    services = ctl(daemon.listen, "services")
    assert services.returncode == 0 and "EFFECTIVE" in services.stdout, services.stderr


# ---- keys per back-end (load_feedback.agents), with the real fairway-agent -----------------------

AGENT = os.path.join(os.path.dirname(FAIRWAYD), "fairway-agent")
OWN_KEY_11 = b"own-key-of-198.18.1.11-0123456789"


@pytest.fixture(scope="module")
def own_keys_daemon(tmp_path_factory):
    keys = tmp_path_factory.mktemp("keys")
    (keys / "be11.key").write_bytes(OWN_KEY_11 + b"\n")
    (keys / "shared.key").write_bytes(KEY + b"\n")

    def config(c):
        least_load(c)
        c["load_feedback"]["agents"] = [{"address": "198.18.1.11", "key_file": str(keys / "be11.key")}]
    with running_daemon(config) as d:
        d.keys = keys
        yield d


def agent_once(daemon, address, key_file):
    return subprocess.run([AGENT, "--address", address, "--key-file", str(key_file), "--server",
                           daemon.listen, "--once", "--name", "t-" + address],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(not os.access(AGENT, os.X_OK), reason="fairway-agent not built")
def test_a_backend_with_its_own_key_reports_only_with_it(own_keys_daemon):
    d = own_keys_daemon
    before = get_json(d.listen, "/api/v1/agents")
    own = agent_once(d, "198.18.1.11", d.keys / "be11.key")
    assert own.returncode == 0, own.stdout + own.stderr
    # the shared key no longer speaks for .11, and .11's key not for .12
    shared = agent_once(d, "198.18.1.11", d.keys / "shared.key")
    assert shared.returncode == 1, shared.stdout + shared.stderr
    borrowed = agent_once(d, "198.18.1.12", d.keys / "be11.key")
    assert borrowed.returncode == 1, borrowed.stdout + borrowed.stderr
    # .12 has no key of its own: the shared key still works for it
    other = agent_once(d, "198.18.1.12", d.keys / "shared.key")
    assert other.returncode == 0, other.stdout + other.stderr
    after = get_json(d.listen, "/api/v1/agents")
    assert after["accepted"] == before["accepted"] + 2
    assert after["rejected"]["bad_signature"] == before["rejected"]["bad_signature"] + 2, after
    kept = {a["address"]: a for a in after["agents"]}
    assert kept["198.18.1.11"]["report"]["agent"] == "t-198.18.1.11", kept
    # an old agent (no X-Fairway-Agent) with the shared key cannot report for .11 either
    code, answer = post(d.listen, report("198.18.1.11", 10))
    assert code == 401 and answer["reason"] == "wrong_key", answer
    assert "has a key of its own" in answer["error"]
