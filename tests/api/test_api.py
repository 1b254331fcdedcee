"""The control API (reading, back-end weight and drain) and fairwayctl against a running fairwayd.

fairwayd runs with two net_pcap ports (no NIC, no namespace): the client port replays a few
frames once, so the counters the API reports are known exactly. Run as root:
    /usr/bin/python3 -m pytest -q tests/api
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import (FAIRWAYCTL, FAIRWAYD, FRAMES, TOKEN, call, ctl,  # noqa: E402
                    free_port, get, get_json, running_daemon)

if os.geteuid() != 0:
    pytest.skip("fairwayd needs root (DPDK)", allow_module_level=True)
for binary in (FAIRWAYD, FAIRWAYCTL):
    if not os.access(binary, os.X_OK):
        pytest.skip("%s not built" % binary, allow_module_level=True)


@pytest.fixture(scope="module")
def daemon():
    with running_daemon() as d:
        yield d.listen


def test_status(daemon):
    s = get_json(daemon, "/api/v1/status")
    assert s["program"] == "fairwayd"
    assert s["snapshot_version"] >= 1
    assert s["services"] == 1
    assert [w["snapshot_version"] for w in s["workers"]] == [s["snapshot_version"]]
    assert 0 <= s["workers"][0]["load_percent"] <= 100
    assert [p["link"] for p in s["ports"]] == ["up", "up"]
    assert s["ports"][0]["counters"]["rx_packets"] == FRAMES
    assert [p["name"] for p in s["ports"]] == ["client", "server"]


def test_stats_count_what_was_sent(daemon):
    c = get_json(daemon, "/api/v1/stats")["counters"]
    assert c["rx_packets"] == FRAMES
    assert c["dsr_forwarded"] == FRAMES
    assert c["flows_created"] == FRAMES


def test_services_count_each_backends_traffic(daemon):
    frame_bytes = 14 + 20 + 20  # the SYNs as scapy writes them: Ethernet, IPv4, TCP, no padding
    web = get_json(daemon, "/api/v1/services")[0]
    assert web["scheduler"] == "maglev"
    backends = web["backends"]
    assert sum(b["packets_in"] for b in backends) == FRAMES
    assert sum(b["bytes_in"] for b in backends) == FRAMES * frame_bytes
    for b in backends:  # each back-end's packets are its new flows (one SYN each), nothing back
        assert b["packets_in"] == b["flows_created"], b
        assert b["packets_out"] == b["bytes_out"] == b["flows_reset"] == 0, b
    assert web["counters"]["packets_in"] == FRAMES
    assert web["counters"]["bytes_in"] == FRAMES * frame_bytes
    status, _, text = get(daemon, "/metrics")
    busiest = max(backends, key=lambda b: b["packets_in"])
    assert ('fairway_backend_packets_total{service="web",backend="%s",direction="in"} %d\n'
            % (busiest["backend"], busiest["packets_in"])) in text
    table = ctl(daemon, "services")
    assert "PKTS_IN" in table.stdout and "BYTES_OUT" in table.stdout


def test_services_count_each_backends_flows_by_state(daemon):
    # The five SYNs left five half-open flows (the module's SYN timeout is an hour): inactive, as
    # IPVS would count them. The workers' census passes every 2 s.
    deadline = time.time() + 15
    while True:
        web = get_json(daemon, "/api/v1/services")[0]
        inactive = sum(b["inactive_flows"] for b in web["backends"])
        if inactive == FRAMES or time.time() > deadline:
            break
        time.sleep(0.2)
    assert inactive == FRAMES, web
    assert sum(b["active_flows"] for b in web["backends"]) == 0
    for b in web["backends"]:
        assert b["inactive_flows"] == b["flows_created"], b
    assert web["counters"]["inactive_flows"] == FRAMES
    _, _, text = get(daemon, "/metrics")
    busiest = max(web["backends"], key=lambda b: b["inactive_flows"])
    assert ('fairway_backend_flows{service="web",backend="%s",state="inactive"} %d\n'
            % (busiest["backend"], busiest["inactive_flows"])) in text


def test_metrics_are_prometheus_text(daemon):
    status, ctype, text = get(daemon, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    assert 'fairway_rx_packets_total{worker="0"} %d\n' % FRAMES in text
    assert 'fairway_dsr_forwarded_total{worker="0"} %d\n' % FRAMES in text
    assert "# TYPE fairway_drops_total counter" in text
    # the edge: five SYNs to web, half-open flows (the module's SYN timeout is an hour)
    assert 'fairway_service_syns_total{service="web"} %d\n' % FRAMES in text
    assert 'fairway_service_denied_total{service="web"} 0\n' in text
    assert 'fairway_half_open_flows{worker="0"} %d\n' % FRAMES in text
    assert 'fairway_flow_table_under_pressure{worker="0"} 0\n' in text


def test_dashboard_page(daemon):
    status, ctype, text = get(daemon, "/")
    assert status == 200 and ctype.startswith("text/html")
    # it draws from the JSON resources, which exist
    for resource in ("/api/v1/status", "/api/v1/services", "/api/v1/agents"):
        assert resource in text
        get_json(daemon, resource)


def test_unknown_resource_is_a_json_404(daemon):
    with pytest.raises(urllib.error.HTTPError) as err:
        get(daemon, "/api/v1/nothing-here")
    assert err.value.code == 404
    assert "no such resource" in json.loads(err.value.read().decode())["error"]


def test_fairwayctl_status_table_and_json(daemon):
    table = ctl(daemon, "status")
    assert table.returncode == 0, table.stderr
    assert "WORKER" in table.stdout and "client" in table.stdout
    as_json = ctl(daemon, "-o", "json", "stats")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["counters"]["rx_packets"] == FRAMES


@pytest.mark.parametrize("args", [["--no-such-flag", "status"], [], ["backend", "set", "web"],
                                  ["backend", "set", "web", "198.18.1.11:80"],
                                  ["backend", "add", "web", "not-an-address"]])
def test_fairwayctl_usage_errors_exit_2(args):
    r = subprocess.run([FAIRWAYCTL, "-s", "127.0.0.1:9", *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip(), "a usage error says what was wrong"


def test_fairwayctl_names_an_unreachable_daemon():
    r = ctl("127.0.0.1:%d" % free_port(), "status")
    assert r.returncode == 1
    assert "cannot reach fairwayd" in r.stderr


def put(listen, path, body, token=TOKEN):
    return call(listen, "PUT", path, body, token)


BACKEND = "/api/v1/services/web/backends/198.18.1.11:80"


@pytest.mark.parametrize("path,body,token,status,message", [
    (BACKEND, '{"drain": true}', None, 401, "bearer token"),
    (BACKEND, '{"drain": true}', "wrong", 401, "bearer token"),
    (BACKEND, "{not json", TOKEN, 400, "not a JSON object"),
    (BACKEND, '{"wieght": 1}', TOKEN, 400, "unknown field 'wieght'"),
    (BACKEND, '{"weight": 70000}', TOKEN, 400, "weight: 70000"),
    ("/api/v1/services/nope/backends/198.18.1.11:80", '{"weight": 1}', TOKEN, 404, "no service named 'nope'"),
    ("/api/v1/services/web/backends/198.18.1.99:80", '{"weight": 1}', TOKEN, 404, "has no back-end"),
])
def test_bad_changes_are_refused_and_change_nothing(daemon, path, body, token, status, message):
    before = get_json(daemon, "/api/v1/status")["snapshot_version"]
    code, answer = put(daemon, path, body, token)
    assert code == status, answer
    assert message in answer["error"]
    assert get_json(daemon, "/api/v1/status")["snapshot_version"] == before


def test_drain_and_weight_republish(daemon):
    before = get_json(daemon, "/api/v1/status")["snapshot_version"]
    code, answer = put(daemon, BACKEND, '{"drain": true, "weight": 5}')
    assert code == 200, answer
    assert answer["snapshot_version"] > before
    services = {s["name"]: s for s in get_json(daemon, "/api/v1/services")}
    backends = {b["backend"]: b for b in services["web"]["backends"]}
    assert backends["198.18.1.11:80"]["weight"] == 5
    assert backends["198.18.1.11:80"]["drained"] is True
    assert backends["198.18.1.11:80"]["state"] == "drained"
    assert backends["198.18.1.12:80"]["drained"] is False
    status = get_json(daemon, "/api/v1/status")
    assert all(w["snapshot_version"] == status["snapshot_version"] for w in status["workers"])
    code, _ = put(daemon, BACKEND, '{"drain": false}')
    assert code == 200
    backends = {b["backend"]: b for b in get_json(daemon, "/api/v1/services")[0]["backends"]}
    assert backends["198.18.1.11:80"]["drained"] is False and backends["198.18.1.11:80"]["weight"] == 5


def test_fairwayctl_drains_and_lists(daemon):
    refused = ctl(daemon, "backend", "set", "web", "198.18.1.12:80", "--drain")
    assert refused.returncode == 1 and "401" in refused.stderr
    done = ctl(daemon, "-t", TOKEN, "backend", "set", "web", "198.18.1.12:80", "--drain")
    assert done.returncode == 0, done.stderr
    listing = ctl(daemon, "services")
    assert listing.returncode == 0, listing.stderr
    row = [l for l in listing.stdout.splitlines() if "198.18.1.12:80" in l]
    assert row and row[0].split()[5] == "drained", listing.stdout
    assert ctl(daemon, "-t", TOKEN, "backend", "set", "web", "198.18.1.12:80", "--undrain").returncode == 0


def documented_families():
    """Every metric family docs/API.md's table names, with `<counter>` rows expanded."""
    api_md = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "API.md")
    text = open(api_md).read()
    table = text[text.index("## Metrics"):]
    names = set()
    for row in table.splitlines():
        if not row.startswith("| `fairway_"):
            continue
        cells = row.split("|")
        for name in re.findall(r"`(fairway_[a-z0-9_<>]+)`", cells[1]):
            if "<counter>" in name:
                for counter in re.findall(r"`([a-z0-9_]+)`", cells[4]):
                    names.add(name.replace("<counter>", counter))
            else:
                names.add(name)
    return names


def test_metrics_parse_as_prometheus_text_and_every_documented_family_is_there(daemon):
    from prometheus_client.parser import text_string_to_metric_families
    text = get(daemon, "/metrics")[2]
    families = list(text_string_to_metric_families(text))  # raises on anything malformed
    assert families
    typed = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    documented = documented_families()
    assert len(documented) > 40
    # Families that only exist with a feature configured (health checks, least-load, agents).
    conditional = {"fairway_backend_healthy", "fairway_backend_health_check_failures_total",
                   "fairway_backend_load_factor", "fairway_backend_cpu_utilization_ratio",
                   "fairway_backend_memory_utilization_ratio", "fairway_backend_active_clients",
                   "fairway_backend_report_age_seconds",
                   # announce (tests/api/test_api_node.py) and flow_sync (the scale-out lab)
                   "fairway_bird_reconfigurations_total", "fairway_bird_failures_total",
                   "fairway_flow_sync_records_total", "fairway_flow_sync_refused_total"}
    missing = documented - typed - conditional
    assert not missing, "documented in docs/API.md but not exposed: %s" % sorted(missing)
    undocumented = typed - documented
    assert not undocumented, "exposed but not in docs/API.md: %s" % sorted(undocumented)
