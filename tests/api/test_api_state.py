"""Changes that last (docs/OPERATIONS.md): what the control API changed outlives a reload (each
item the file did not change too) and, with control.state_file, a restart; the node's drain too.
`fairwayctl config show` prints the running configuration as YAML that `fairwayd --check`
accepts, secrets left out."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import (FAIRWAYCTL, FAIRWAYD, TOKEN, backends_of, call, ctl, get,  # noqa: E402
                    get_json, running_daemon, services_by_name)

if os.geteuid() != 0:
    pytest.skip("fairwayd needs root (DPDK)", allow_module_level=True)
for binary in (FAIRWAYD, FAIRWAYCTL):
    if not os.access(binary, os.X_OK):
        pytest.skip("%s not built" % binary, allow_module_level=True)

BE11, BE12, BE13 = "198.18.1.11:80", "198.18.1.12:80", "198.18.1.13:80"
DNS = {"name": "dns", "vip": "198.18.100.3", "port": 53, "protocol": "udp",
       "backends": [{"address": "198.18.1.14"}]}


@pytest.fixture
def state_dir():
    d = tempfile.mkdtemp(prefix="fairway-state-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def with_state(path):
    def edit(config):
        config["control"]["state_file"] = path
    return edit


def ok(answer, status=200):
    assert answer[0] == status, answer
    return answer[1]


def reload(d):
    return ok(call(d.listen, "POST", "/api/v1/reload"))


def web_backends(d, path):
    """The file's web back-ends changed by `path(backends)`, written, and the file reloaded."""
    with open(d.config_path) as f:
        config = yaml.safe_load(f)
    web = config["services"][0]
    path(web["backends"])
    d.write_config(config)
    return reload(d)


def test_api_changes_outlive_reloads_and_the_file_wins_where_it_changed_too(state_dir):
    with running_daemon(with_state(os.path.join(state_dir, "state.yaml"))) as d:
        ok(call(d.listen, "PUT", "/api/v1/services/web/backends/" + BE12, {"weight": 5, "drain": True}))
        ok(call(d.listen, "POST", "/api/v1/deny", {"prefix": "198.18.9.0/24"}), 201)
        ok(call(d.listen, "POST", "/api/v1/services", DNS), 201)
        ok(call(d.listen, "POST", "/api/v1/node/drain", {"deadline": "1s"}))
        # the same file again: every API change stays
        reload(d)
        b = backends_of(d.listen, "web")
        assert (b[BE12]["weight"], b[BE12]["drained"]) == (5, True), b[BE12]
        assert get_json(d.listen, "/api/v1/deny")["global"] == ["198.18.9.0/24"]
        assert "dns" in services_by_name(d.listen)
        assert get_json(d.listen, "/api/v1/node")["state"] in ("draining", "drained")
        # the file changes other items: both kept
        web_backends(d, lambda bs: (bs[0].update(weight=3), bs.append({"address": "198.18.1.13"})))
        b = backends_of(d.listen, "web")
        assert b[BE11]["weight"] == 3 and BE13 in b, b
        assert (b[BE12]["weight"], b[BE12]["drained"]) == (5, True), b[BE12]
        # the file changes the item the API changed: the file wins, and the log says so
        web_backends(d, lambda bs: bs[1].update(weight=9))
        b = backends_of(d.listen, "web")
        assert (b[BE12]["weight"], b[BE12]["drained"]) == (9, False), b[BE12]
        assert ("service web back-end %s: changed through the API and in the file; the file's "
                "version is taken" % BE12) in d.log()
        assert "dns" in services_by_name(d.listen)


def test_api_changes_and_the_drain_outlive_a_restart(state_dir):
    state = os.path.join(state_dir, "state.yaml")
    with running_daemon(with_state(state)) as d:
        assert os.path.exists(state), "the state file is written at start-up"
        ok(call(d.listen, "PUT", "/api/v1/services/web/backends/" + BE12, {"weight": 5, "drain": True}))
        ok(call(d.listen, "POST", "/api/v1/deny", {"prefix": "198.18.9.0/24", "service": "web"}), 201)
        ok(call(d.listen, "POST", "/api/v1/services", DNS), 201)
        ok(call(d.listen, "DELETE", "/api/v1/services/web/backends/" + BE11))
        ok(call(d.listen, "POST", "/api/v1/node/drain", {"deadline": "1s"}))
    with open(state) as f:
        saved = yaml.safe_load(f)
    assert saved["drained"] is True and saved["version"] == 1, saved
    assert [s["name"] for s in saved["running"]["services"]] == ["web", "dns"], saved
    assert [s["name"] for s in saved["file"]["services"]] == ["web"], saved

    with running_daemon(with_state(state)) as d:
        node = get_json(d.listen, "/api/v1/node")
        assert node["state"] == "drained" and node["announced"] == [], node
        b = backends_of(d.listen, "web")
        assert set(b) == {BE12} and (b[BE12]["weight"], b[BE12]["drained"]) == (5, True), b
        assert get_json(d.listen, "/api/v1/deny")["services"].get("web") == ["198.18.9.0/24"]
        assert "dns" in services_by_name(d.listen)
        # items: .12 changed, .11 removed, a web deny prefix, service dns and its back-end
        assert "5 changes made through the API kept" in d.log(), d.log()[-3000:]
        ok(call(d.listen, "POST", "/api/v1/node/undrain"))
        with open(state) as f:
            assert yaml.safe_load(f)["drained"] is False
    # without the state file the restart starts from the file alone
    os.remove(state)
    with running_daemon(with_state(state)) as d:
        assert get_json(d.listen, "/api/v1/node")["state"] == "active"
        assert set(backends_of(d.listen, "web")) == {BE11, BE12}


def test_an_unreadable_state_file_is_moved_aside_and_the_file_serves(state_dir):
    state = os.path.join(state_dir, "state.yaml")
    with open(state, "w") as f:
        f.write("version: 1\nfile: {services: []}\nrunning: {services: [{name: x}]}\n")
    with running_daemon(with_state(state)) as d:
        assert set(services_by_name(d.listen)) == {"web"}
        assert "state file not applied (moved to %s.rejected)" % state in d.log()
        assert "running.services[0]" in d.log(), d.log()[-2000:]
    assert os.path.exists(state + ".rejected")


def test_config_show_round_trips_through_check_without_secrets(state_dir):
    with running_daemon() as d:
        ok(call(d.listen, "PUT", "/api/v1/services/web/backends/" + BE12, {"weight": 4}))
        ok(call(d.listen, "POST", "/api/v1/services", DNS), 201)
        status, content_type, text = get(d.listen, "/api/v1/config")
        assert status == 200 and content_type.startswith("application/yaml"), content_type
        shown = ctl(d.listen, "config", "show")
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == text
        assert TOKEN not in text, "the inline token must not be shown"
        written = os.path.join(state_dir, "shown.yaml")
        with open(written, "w") as f:
            f.write(text)
        check = subprocess.run([FAIRWAYD, "--check", "-c", written], capture_output=True, text=True,
                               timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        config = yaml.safe_load(text)
        web, dns = config["services"]
        assert dns["name"] == "dns" and dns["backends"][0]["address"] == "198.18.1.14"
        assert [b["weight"] for b in web["backends"]] == [1, 4]
        # the shown file as the daemon's file: a reload changes nothing
        d.write_config(text.replace('"REDACTED-inline-secret-not-shown"', '"%s"' % TOKEN))
        before = get(d.listen, "/api/v1/config")[2]
        reload(d)
        assert get(d.listen, "/api/v1/config")[2] == before
        assert ctl(d.listen, "config").returncode == 2  # usage: a subcommand is required
