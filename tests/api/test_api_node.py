"""The node in a cluster through the control API and fairwayctl: which VIPs it announces, the
BIRD include file it writes and the `birdc configure` it runs (a stand-in birdc that records its
calls; the real BIRD is in tests/lab/test_lab_scaleout.py), drain and undrain, refused requests,
and a BIRD that cannot be reached."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import (FAIRWAYCTL, FAIRWAYD, TOKEN, call, ctl, get, get_json,  # noqa: E402
                    running_daemon, wait_for)

if os.geteuid() != 0:
    pytest.skip("fairwayd needs root (DPDK)", allow_module_level=True)
for binary in (FAIRWAYD, FAIRWAYCTL):
    if not os.access(binary, os.X_OK):
        pytest.skip("%s not built" % binary, allow_module_level=True)

VIP = "198.18.100.1"
ROUTE = "route 198.18.100.1/32 blackhole;"

# A stand-in birdc: records its arguments and the include file it was asked to read; fails like
# birdc does when BIRD is not running while $DIR/down exists.
FAKE_BIRDC = """#!/bin/sh
dir=$(dirname "$0")
if [ -e "$dir/down" ]; then
  echo "Unable to connect to server control socket ($2): Connection refused"
  exit 1
fi
echo "$@" >> "$dir/calls"
cp "$dir/vips.conf" "$dir/last-configured.conf"
echo "Reconfigured"
"""


@pytest.fixture(scope="module")
def bird_dir():
    d = tempfile.mkdtemp(prefix="fairway-bird-")
    birdc = os.path.join(d, "birdc")
    with open(birdc, "w") as f:
        f.write(FAKE_BIRDC)
    os.chmod(birdc, stat.S_IRWXU)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon(bird_dir):
    def announce(config):
        config["announce"] = {"bird_file": os.path.join(bird_dir, "vips.conf"),
                              "bird_socket": os.path.join(bird_dir, "bird.ctl"),
                              "birdc": os.path.join(bird_dir, "birdc")}
    with running_daemon(announce) as d:
        yield d


def node(listen):
    return get_json(listen, "/api/v1/node")


def configured(bird_dir):
    path = os.path.join(bird_dir, "last-configured.conf")
    return open(path).read() if os.path.exists(path) else ""


def test_an_active_node_announces_its_vip_to_bird(daemon, bird_dir):
    wait_for(lambda: node(daemon.listen)["bird"]["in_bird"] == [VIP], what="BIRD configured")
    n = node(daemon.listen)
    assert n["state"] == "active" and n["announced"] == [VIP] and n["withheld"] == [], n
    assert n["flows"] == 5, n  # the replayed SYNs
    assert n["bird"]["reconfigurations"] >= 1 and n["bird"]["last_error"] == "", n
    text = configured(bird_dir)
    assert "protocol static fairway_vips4 {" in text and ROUTE in text, text
    assert "protocol static fairway_vips6 {" in text
    calls = open(os.path.join(bird_dir, "calls")).read().splitlines()
    assert calls[-1] == "-s %s configure" % os.path.join(bird_dir, "bird.ctl"), calls


def test_drain_withdraws_every_vip_and_undrain_announces_again(daemon, bird_dir):
    code, answer = call(daemon.listen, "POST", "/api/v1/node/drain", {"deadline": "1h"})
    assert code == 200 and answer["state"] == "draining", answer
    wait_for(lambda: node(daemon.listen)["bird"]["in_bird"] == [], what="VIP withdrawn")
    n = node(daemon.listen)
    # The flows are still there: draining, not drained; still forwarded.
    assert n["state"] == "draining" and n["flows"] == 5, n
    assert n["withheld"] == [{"vip": VIP, "reason": "node drained"}], n
    assert ROUTE not in configured(bird_dir)
    assert "fairway_vips4" in configured(bird_dir)
    code, answer = call(daemon.listen, "POST", "/api/v1/node/drain")
    assert code == 409 and "already draining" in answer["error"], answer
    shown = ctl(daemon.listen, "node")
    assert shown.returncode == 0 and "draining" in shown.stdout and "node drained" in shown.stdout
    r = ctl(daemon.listen, "-t", TOKEN, "node", "undrain")
    assert r.returncode == 0 and "node active" in r.stdout, (r.stdout, r.stderr)
    wait_for(lambda: node(daemon.listen)["bird"]["in_bird"] == [VIP], what="VIP announced again")
    assert ROUTE in configured(bird_dir)
    code, answer = call(daemon.listen, "POST", "/api/v1/node/undrain")
    assert code == 409, answer


def test_a_drain_ends_at_its_deadline_and_wait_says_so(daemon):
    r = ctl(daemon.listen, "-t", TOKEN, "node", "drain", "--deadline", "1s", "--wait")
    # The SYN-only flows outlive the deadline: exit 3, not 0.
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "drained: deadline passed (5 flows left)" in r.stdout, r.stdout
    n = node(daemon.listen)
    assert n["state"] == "drained" and n["drain"]["drained_because"] == "deadline passed", n
    assert ctl(daemon.listen, "-t", TOKEN, "node", "undrain").returncode == 0


@pytest.mark.parametrize("body,message", [
    ("[1]", "not a JSON object"),
    ('{"deadline": "soon"}', "deadline"),
    ('{"deadline": "100ms"}', "from 1s to 24h"),
    ('{"deadline": 30}', "deadline"),
    ('{"until": "30s"}', "unknown field 'until'"),
])
def test_bad_drains_are_refused(daemon, body, message):
    code, answer = call(daemon.listen, "POST", "/api/v1/node/drain", body)
    assert code == 400 and message in answer["error"], answer
    assert node(daemon.listen)["state"] == "active"


def test_node_changes_need_the_token(daemon):
    code, _ = call(daemon.listen, "POST", "/api/v1/node/drain", token=None)
    assert code == 401
    assert node(daemon.listen)["state"] == "active"


def test_a_vip_without_a_backend_up_is_withdrawn(daemon, bird_dir):
    for b in ("198.18.1.11:80", "198.18.1.12:80"):
        code, answer = call(daemon.listen, "PUT", "/api/v1/services/web/backends/" + b, {"drain": True})
        assert code == 200, answer
    wait_for(lambda: node(daemon.listen)["bird"]["in_bird"] == [], what="VIP withdrawn")
    assert node(daemon.listen)["withheld"] == [{"vip": VIP, "reason": "no back-end up"}]
    code, answer = call(daemon.listen, "PUT", "/api/v1/services/web/backends/198.18.1.12:80",
                        {"drain": False})
    assert code == 200, answer
    wait_for(lambda: node(daemon.listen)["bird"]["in_bird"] == [VIP], what="VIP announced again")
    call(daemon.listen, "PUT", "/api/v1/services/web/backends/198.18.1.11:80", {"drain": False})


def test_an_unreachable_bird_is_retried_and_reported(daemon, bird_dir):
    down = os.path.join(bird_dir, "down")
    open(down, "w").close()
    try:
        assert call(daemon.listen, "POST", "/api/v1/node/drain")[0] == 200
        wait_for(lambda: node(daemon.listen)["bird"]["failures"] > 0, what="a failed birdc")
        bird = node(daemon.listen)["bird"]
        assert bird["pending"] and bird["in_bird"] == [VIP], bird
        assert "Unable to connect to server control socket" in bird["last_error"], bird
    finally:
        os.remove(down)
    # Retried every 2 s: BIRD back, the withdrawal goes through.
    wait_for(lambda: node(daemon.listen)["bird"]["in_bird"] == [], seconds=10, what="retry")
    assert node(daemon.listen)["bird"]["last_error"] == ""
    assert call(daemon.listen, "POST", "/api/v1/node/undrain")[0] == 200


def test_the_node_in_the_metrics(daemon):
    call(daemon.listen, "POST", "/api/v1/node/drain", {"deadline": "1h"})
    try:
        wait_for(lambda: node(daemon.listen)["bird"]["in_bird"] == [], what="VIP withdrawn")
        text = get(daemon.listen, "/metrics")[2]
        assert "fairway_node_drained 1" in text, text
        assert 'fairway_vip_announced{vip="198.18.100.1"} 0' in text
        assert "fairway_bird_reconfigurations_total " in text
        assert "fairway_bird_failures_total " in text
        assert "fairway_flow_sync_records_total" not in text  # no flow_sync section
    finally:
        call(daemon.listen, "POST", "/api/v1/node/undrain")
    wait_for(lambda: 'fairway_vip_announced{vip="198.18.100.1"} 1' in get(daemon.listen, "/metrics")[2],
             what="VIP announced in the metrics")
    assert "fairway_node_drained 0" in get(daemon.listen, "/metrics")[2]


def test_fairwayctl_takes_the_token_from_the_environment_or_a_file(daemon, bird_dir):
    env = dict(os.environ, FAIRWAY_TOKEN=TOKEN)
    r = subprocess.run([FAIRWAYCTL, "-s", daemon.listen, "node", "drain"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "node draining" in r.stdout, (r.stdout, r.stderr)
    token_file = os.path.join(bird_dir, "token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    r = ctl(daemon.listen, "--token-file", token_file, "node", "undrain")
    assert r.returncode == 0 and "node active" in r.stdout, (r.stdout, r.stderr)
    r = ctl(daemon.listen, "--token-file", os.path.join(bird_dir, "nope"), "node", "undrain")
    assert r.returncode == 2 and "cannot read the token file" in r.stderr
