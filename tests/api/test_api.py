"""The control API (read-only part) and fairwayctl against a running fairwayd.

fairwayd runs with two net_pcap ports (no NIC, no namespace): the client port replays a few
frames once, so the counters the API reports are known exactly. Run as root:
    /usr/bin/python3 -m pytest -q tests/api
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAIRWAYD = os.environ.get("FAIRWAYD", str(ROOT / "build" / "fairwayd"))
FAIRWAYCTL = os.environ.get("FAIRWAYCTL", str(pathlib.Path(FAIRWAYD).parent / "fairwayctl"))
FRAMES = 5
TOKEN = "s3cret"

if os.geteuid() != 0:
    pytest.skip("fairwayd needs root (DPDK)", allow_module_level=True)
for binary in (FAIRWAYD, FAIRWAYCTL):
    if not os.access(binary, os.X_OK):
        pytest.skip("%s not built" % binary, allow_module_level=True)

from scapy.all import IP, TCP, Ether, wrpcap  # noqa: E402  (Debian's python3-scapy)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def daemon():
    work = tempfile.mkdtemp(prefix="fairway-api-")
    frames = [Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") /
              IP(src="198.18.0.2", dst="198.18.100.1") / TCP(sport=40000 + i, dport=80, flags="S")
              for i in range(FRAMES)]
    wrpcap(os.path.join(work, "in.pcap"), frames)
    wrpcap(os.path.join(work, "empty.pcap"), [])
    listen = "127.0.0.1:%d" % free_port()
    config = {
        "workers": 1, "mbufs": 4095,
        "eal": {"args": ["--no-huge", "-m", "256", "--file-prefix", "fwapi%d" % os.getpid(),
                         "--log-level", "*:warning"]},
        "flow_table": {"capacity": 4096},
        "control": {"listen": listen, "token": TOKEN},
        "ports": [
            {"name": "client", "device": "net_pcap0,rx_pcap=%s/in.pcap,tx_pcap=%s/out0.pcap" % (work, work),
             "mac": "02:00:00:00:00:01", "addresses": ["198.18.0.1/24"], "exception_path": False},
            {"name": "server", "device": "net_pcap1,rx_pcap=%s/empty.pcap,tx_pcap=%s/out1.pcap" % (work, work),
             "mac": "02:00:00:00:01:01", "addresses": ["198.18.1.1/24"], "exception_path": False}],
        "neighbors": [{"address": "198.18.1.11", "mac": "02:00:00:00:01:0b", "port": "server"},
                      {"address": "198.18.1.12", "mac": "02:00:00:00:01:0c", "port": "server"}],
        "services": [{"name": "web", "vip": "198.18.100.1", "port": 80, "protocol": "tcp",
                      "mode": "dsr", "backends": [{"address": "198.18.1.11"}, {"address": "198.18.1.12"}]}],
    }
    cfg = os.path.join(work, "fairwayd.yaml")
    with open(cfg, "w") as f:
        json.dump(config, f)  # JSON is YAML
    log = open(os.path.join(work, "fairwayd.log"), "wb")
    proc = subprocess.Popen([FAIRWAYD, "-c", cfg], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "fairwayd exited: " + open(log.name).read()[-2000:]
            try:
                stats = get_json(listen, "/api/v1/stats")
                if stats["counters"]["rx_packets"] == FRAMES:
                    break
            except (OSError, ValueError):
                pass
            assert time.monotonic() < deadline, "API not ready: " + open(log.name).read()[-2000:]
            time.sleep(0.2)
        yield listen
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def get(listen, path):
    with urllib.request.urlopen("http://%s%s" % (listen, path), timeout=5) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def get_json(listen, path):
    return json.loads(get(listen, path)[2])


def ctl(listen, *args):
    return subprocess.run([FAIRWAYCTL, "-s", listen, *args], capture_output=True, text=True, timeout=30)


def test_status(daemon):
    s = get_json(daemon, "/api/v1/status")
    assert s["program"] == "fairwayd"
    assert s["snapshot_version"] >= 1
    assert s["services"] == 1
    assert [w["snapshot_version"] for w in s["workers"]] == [s["snapshot_version"]]
    assert [p["name"] for p in s["ports"]] == ["client", "server"]


def test_stats_count_what_was_sent(daemon):
    c = get_json(daemon, "/api/v1/stats")["counters"]
    assert c["rx_packets"] == FRAMES
    assert c["dsr_forwarded"] == FRAMES
    assert c["flows_created"] == FRAMES


def test_metrics_are_prometheus_text(daemon):
    status, ctype, text = get(daemon, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    assert 'fairway_rx_packets_total{worker="0"} %d\n' % FRAMES in text
    assert 'fairway_dsr_forwarded_total{worker="0"} %d\n' % FRAMES in text
    assert "# TYPE fairway_drops_total counter" in text


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


def test_fairwayctl_names_an_unreachable_daemon():
    r = ctl("127.0.0.1:%d" % free_port(), "status")
    assert r.returncode == 1
    assert "cannot reach fairwayd" in r.stderr


def put(listen, path, body, token=TOKEN):
    req = urllib.request.Request("http://%s%s" % (listen, path), data=body.encode(), method="PUT")
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


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
    assert backends["198.18.1.11:80"] == {"backend": "198.18.1.11:80", "weight": 5, "drained": True}
    assert backends["198.18.1.12:80"]["drained"] is False
    status = get_json(daemon, "/api/v1/status")
    assert all(w["snapshot_version"] == status["snapshot_version"] for w in status["workers"])
    code, _ = put(daemon, BACKEND, '{"drain": false}')
    assert code == 200
    backends = {b["backend"]: b for b in get_json(daemon, "/api/v1/services")[0]["backends"]}
    assert backends["198.18.1.11:80"]["drained"] is False and backends["198.18.1.11:80"]["weight"] == 5


def test_fairwayctl_drains_and_lists(daemon):
    refused = ctl(daemon, "backend", "web", "198.18.1.12:80", "--drain")
    assert refused.returncode == 1 and "401" in refused.stderr
    done = ctl(daemon, "-t", TOKEN, "backend", "web", "198.18.1.12:80", "--drain")
    assert done.returncode == 0, done.stderr
    listing = ctl(daemon, "services")
    assert listing.returncode == 0, listing.stderr
    row = [l for l in listing.stdout.splitlines() if "198.18.1.12:80" in l]
    assert row and row[0].split()[-1] == "drained", listing.stdout
    assert ctl(daemon, "-t", TOKEN, "backend", "web", "198.18.1.12:80", "--undrain").returncode == 0
