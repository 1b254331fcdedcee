"""Run-time changes through the control API and fairwayctl: services and back-ends added and
removed, flows listed, per-back-end counters, reload (API and SIGHUP) with a bad file refused.

Against a running fairwayd with net_pcap ports (apilib.py): five SYNs to service `web` make five
flows, split between its two back-ends by Maglev. Run as root:
    /usr/bin/python3 -m pytest -q tests/api
"""
import json
import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import (FAIRWAYCTL, FAIRWAYD, FRAMES, TOKEN, backends_of, call, ctl,  # noqa: E402
                    get, get_json, running_daemon, services_by_name, wait_for)

if os.geteuid() != 0:
    pytest.skip("fairwayd needs root (DPDK)", allow_module_level=True)
for binary in (FAIRWAYD, FAIRWAYCTL):
    if not os.access(binary, os.X_OK):
        pytest.skip("%s not built" % binary, allow_module_level=True)

DNS = {"name": "dns", "vip": "198.18.100.3", "port": 53, "protocol": "udp",
       "backends": [{"address": "198.18.1.13", "weight": 2}]}


@pytest.fixture(scope="module")
def daemon():
    with running_daemon() as d:
        yield d


def version(listen):
    return get_json(listen, "/api/v1/status")["snapshot_version"]


def test_flows_are_listed_filtered_and_counted(daemon):
    everything = get_json(daemon.listen, "/api/v1/flows")
    assert everything["count"] == FRAMES and everything["complete"] is True
    assert len(everything["flows"]) == FRAMES
    flow = everything["flows"][0]
    assert flow["client"].startswith("198.18.0.2:4000") and flow["vip"] == "198.18.100.1:80"
    assert flow["protocol"] == "tcp" and flow["tcp_state"] and flow["expires_in_ms"] > 0
    per_backend = {}
    for f in everything["flows"]:
        per_backend[f["backend"]] = per_backend.get(f["backend"], 0) + 1
    for backend, n in per_backend.items():
        only = get_json(daemon.listen, "/api/v1/flows?backend=%s" % backend)
        assert only["count"] == n and {f["backend"] for f in only["flows"]} == {backend}
        # the per-back-end counter saw the same new flows
        assert backends_of(daemon.listen, "web")[backend]["flows_created"] == n
    limited = get_json(daemon.listen, "/api/v1/flows?service=web&limit=2")
    assert limited["count"] == FRAMES and limited["listed"] == 2
    counted = get_json(daemon.listen, "/api/v1/flows?client=198.18.0.2&limit=0")
    assert counted["count"] == FRAMES and counted["flows"] == []
    assert get_json(daemon.listen, "/api/v1/flows?client=198.18.0.3")["count"] == 0


@pytest.mark.parametrize("query,status,message", [
    ("?backend=nonsense", 400, "backend: 'nonsense' is not an address"),
    ("?limit=lots", 400, "limit: 'lots'"),
    ("?limit=20000", 400, "limit"),
    ("?colour=red", 400, "unknown parameter 'colour'"),
    ("?service=nope", 404, "no service named 'nope'"),
])
def test_bad_flow_queries(daemon, query, status, message):
    code, answer = call(daemon.listen, "GET", "/api/v1/flows" + query)
    assert code == status and message in answer["error"], answer


def test_fairwayctl_lists_flows(daemon):
    table = ctl(daemon.listen, "flows", "--service", "web")
    assert table.returncode == 0, table.stderr
    assert "%d flows match, %d listed" % (FRAMES, FRAMES) in table.stdout
    as_json = json.loads(ctl(daemon.listen, "-o", "json", "flows", "--limit", "1").stdout)
    assert as_json["count"] == FRAMES and as_json["listed"] == 1


@pytest.mark.parametrize("body,token,status,message", [
    (DNS, None, 401, "bearer token"),
    ("{oops", TOKEN, 400, "not a JSON object"),
    (dict(DNS, backends=[{"address": "198.18.1.13", "weight": 1.5}]), TOKEN, 400,
     "backends[0].weight"),
    (dict(DNS, colour="red"), TOKEN, 400, "colour"),
    (dict(DNS, protocol="sctp"), TOKEN, 400, "protocol"),
    (dict(DNS, name="web"), TOKEN, 409, "a service named 'web' already exists"),
    (dict(DNS, vip="198.18.100.1", port=80, protocol="tcp"), TOKEN, 409, "already serves"),
])
def test_bad_services_are_refused_and_change_nothing(daemon, body, token, status, message):
    before = version(daemon.listen)
    code, answer = call(daemon.listen, "POST", "/api/v1/services", body, token)
    assert code == status and message in answer["error"], answer
    assert version(daemon.listen) == before
    assert "dns" not in services_by_name(daemon.listen)


def test_add_and_remove_a_service(daemon):
    before = version(daemon.listen)
    code, answer = call(daemon.listen, "POST", "/api/v1/services", DNS)
    assert code == 201, answer
    assert answer["snapshot_version"] > before
    dns = services_by_name(daemon.listen)["dns"]
    assert dns["protocol"] == "udp" and dns["accepting"] is True
    assert [(b["backend"], b["weight"], b["state"]) for b in dns["backends"]] == [
        ("198.18.1.13:53", 2, "up")]
    status = get_json(daemon.listen, "/api/v1/status")
    assert all(w["snapshot_version"] == status["snapshot_version"] for w in status["workers"])

    code, answer = call(daemon.listen, "DELETE", "/api/v1/services/dns")
    assert code == 200, answer
    # No flow uses it, so it goes at the next sweep (about a second).
    wait_for(lambda: "dns" not in services_by_name(daemon.listen), 10, "dns to be gone")
    assert call(daemon.listen, "DELETE", "/api/v1/services/dns")[0] == 404


def test_backends_are_added_and_removed_and_flows_keep_theirs(daemon):
    code, answer = call(daemon.listen, "POST", "/api/v1/services/web/backends",
                        {"address": "198.18.1.14", "weight": 3})
    assert code == 201, answer
    assert backends_of(daemon.listen, "web")["198.18.1.14:80"]["weight"] == 3
    code, answer = call(daemon.listen, "POST", "/api/v1/services/web/backends",
                        {"address": "198.18.1.14"})
    assert code == 409 and "already has back-end 198.18.1.14:80" in answer["error"]
    code, answer = call(daemon.listen, "POST", "/api/v1/services/web/backends",
                        {"address": "198.18.1.15", "port": 8080})
    assert code == 400 and "port" in answer["error"] and "dsr" in answer["error"], answer

    # A back-end that still has flows is kept, marked removed, until they end.
    flows = get_json(daemon.listen, "/api/v1/flows")["flows"]
    busy = flows[0]["backend"]
    count = sum(1 for f in flows if f["backend"] == busy)
    code, answer = call(daemon.listen, "DELETE", "/api/v1/services/web/backends/" + busy)
    assert code == 200, answer
    state = backends_of(daemon.listen, "web")[busy]
    assert state["removed"] is True and state["state"] == "removed"
    assert get_json(daemon.listen, "/api/v1/status")["retiring"]["backends"] == 1
    assert get_json(daemon.listen, "/api/v1/flows?backend=" + busy)["count"] == count
    # Back again: in service, with its flows and counters.
    code, answer = call(daemon.listen, "POST", "/api/v1/services/web/backends",
                        {"address": busy.split(":")[0]})
    assert code == 201, answer
    assert backends_of(daemon.listen, "web")[busy]["state"] == "up"
    assert backends_of(daemon.listen, "web")[busy]["flows_created"] == count

    # Without flows, a removed back-end goes at once (next sweep).
    code, _ = call(daemon.listen, "DELETE", "/api/v1/services/web/backends/198.18.1.14:80")
    assert code == 200
    wait_for(lambda: "198.18.1.14:80" not in backends_of(daemon.listen, "web"), 10,
             "198.18.1.14:80 to be gone")
    code, answer = call(daemon.listen, "DELETE", "/api/v1/services/web/backends/198.18.1.99:80")
    assert code == 404 and "has no back-end" in answer["error"]


def test_fairwayctl_adds_and_removes(daemon, tmp_path):
    spec = tmp_path / "dns.json"
    spec.write_text(json.dumps(DNS))
    refused = ctl(daemon.listen, "service", "add", str(spec))
    assert refused.returncode == 1 and "401" in refused.stderr
    added = ctl(daemon.listen, "-t", TOKEN, "service", "add", str(spec))
    assert added.returncode == 0, added.stderr
    assert "added service dns" in added.stdout
    bad = ctl(daemon.listen, "-t", TOKEN, "service", "add", "-", stdin='{"name": "x"}')
    assert bad.returncode == 1 and "400" in bad.stderr and "vip" in bad.stderr
    r = ctl(daemon.listen, "-t", TOKEN, "backend", "add", "dns", "198.18.1.14:53", "--weight", "4")
    assert r.returncode == 0, r.stderr
    assert backends_of(daemon.listen, "dns")["198.18.1.14:53"]["weight"] == 4
    r = ctl(daemon.listen, "-t", TOKEN, "backend", "remove", "dns", "198.18.1.13:53")
    assert r.returncode == 0, r.stderr
    r = ctl(daemon.listen, "-t", TOKEN, "service", "remove", "dns")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "dns" not in services_by_name(daemon.listen), 10, "dns to be gone")


def test_metrics_per_service_and_backend(daemon):
    text = get(daemon.listen, "/metrics")[2]
    created = [line for line in text.splitlines()
               if line.startswith('fairway_backend_flows_created_total{service="web"')]
    assert sum(int(line.split()[-1]) for line in created) == FRAMES, created
    assert 'fairway_backend_up{service="web",backend="198.18.1.11:80"} 1' in text
    assert "# TYPE fairway_flow_table_capacity gauge" in text


def test_reload_takes_the_file_and_refuses_a_bad_one(daemon):
    config = json.load(open(daemon.config_path))
    config["services"].append(dict(DNS, name="dns-file"))
    daemon.write_config(config)
    code, answer = call(daemon.listen, "POST", "/api/v1/reload", token=None)
    assert code == 401
    code, answer = call(daemon.listen, "POST", "/api/v1/reload")
    assert code == 200, answer
    assert "dns-file" in services_by_name(daemon.listen)

    good_version = version(daemon.listen)
    config["services"][-1]["backends"][0]["weight"] = 70000
    daemon.write_config(config)
    code, answer = call(daemon.listen, "POST", "/api/v1/reload")
    assert code == 400
    # the loader's own error: file, line, column, field
    assert answer["error"].startswith(daemon.config_path + ":"), answer
    assert "services[1].backends[0].weight" in answer["error"], answer
    assert version(daemon.listen) == good_version
    assert backends_of(daemon.listen, "dns-file")["198.18.1.13:53"]["weight"] == 2

    config["services"][-1]["backends"][0]["weight"] = 2
    config["workers"] = 2
    daemon.write_config(config)
    code, answer = call(daemon.listen, "POST", "/api/v1/reload")
    assert code == 400 and "workers: changed" in answer["error"] and "restart" in answer["error"]
    assert version(daemon.listen) == good_version

    r = ctl(daemon.listen, "-t", TOKEN, "reload")
    assert r.returncode == 1 and "workers: changed" in r.stderr


def test_sighup_reloads(daemon):
    config = json.load(open(daemon.config_path))
    config["workers"] = 1
    config["services"] = [s for s in config["services"] if s["name"] != "dns-file"]
    config["services"][0]["backends"][1]["weight"] = 9
    daemon.write_config(config)
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: backends_of(daemon.listen, "web")["198.18.1.12:80"]["weight"] == 9, 10,
             "SIGHUP reload")
    wait_for(lambda: "dns-file" not in services_by_name(daemon.listen), 10, "dns-file to be gone")
    assert "reload (SIGHUP)" in daemon.log()
