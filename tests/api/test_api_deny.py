"""Deny lists through the control API and fairwayctl: added and removed live (global and per
service), listed, refused when wrong, and changes need the token. The data-plane effect of a
list is shown by tests/golden/test_deny.py and the unit tests."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import (FAIRWAYCTL, FAIRWAYD, TOKEN, call, ctl, get_json,  # noqa: E402
                    running_daemon, services_by_name)

if os.geteuid() != 0:
    pytest.skip("fairwayd needs root (DPDK)", allow_module_level=True)
for binary in (FAIRWAYD, FAIRWAYCTL):
    if not os.access(binary, os.X_OK):
        pytest.skip("%s not built" % binary, allow_module_level=True)


@pytest.fixture(scope="module")
def daemon():
    with running_daemon() as d:
        yield d


def version(listen):
    return get_json(listen, "/api/v1/status")["snapshot_version"]


def test_deny_lists_change_live(daemon):
    assert get_json(daemon.listen, "/api/v1/deny") == {"global": [], "services": {}, "denied": 0}
    before = version(daemon.listen)
    code, answer = call(daemon.listen, "POST", "/api/v1/deny", {"prefix": "198.18.9.0/24"})
    assert code == 201, answer
    assert answer["snapshot_version"] > before
    code, answer = call(daemon.listen, "POST", "/api/v1/deny",
                        {"prefix": "2001:2:9::/48", "service": "web"})
    assert code == 201, answer
    assert get_json(daemon.listen, "/api/v1/deny") == {
        "global": ["198.18.9.0/24"], "services": {"web": ["2001:2:9::/48"]}, "denied": 0}
    assert services_by_name(daemon.listen)["web"]["deny_clients"] == ["2001:2:9::/48"]
    code, answer = call(daemon.listen, "DELETE", "/api/v1/deny?prefix=198.18.9.0/24")
    assert code == 200, answer
    code, answer = call(daemon.listen, "DELETE", "/api/v1/deny?prefix=2001:2:9::/48&service=web")
    assert code == 200, answer
    assert get_json(daemon.listen, "/api/v1/deny")["global"] == []


@pytest.mark.parametrize("method,path,body,token,status,message", [
    ("POST", "/api/v1/deny", {"prefix": "198.18.9.0/24"}, None, 401, "bearer token"),
    ("POST", "/api/v1/deny", {"prefix": "198.18.9.0/40"}, TOKEN, 400, "not an address prefix"),
    ("POST", "/api/v1/deny", {"prefix": "198.18.9.0/24", "colour": "red"}, TOKEN, 400, "colour"),
    ("POST", "/api/v1/deny", {"service": "web"}, TOKEN, 400, "prefix: missing"),
    ("POST", "/api/v1/deny", {"prefix": "198.18.9.0/24", "service": "nope"}, TOKEN, 404, "nope"),
    ("DELETE", "/api/v1/deny?prefix=198.18.5.0/24", None, TOKEN, 404, "is not in"),
    ("DELETE", "/api/v1/deny", None, TOKEN, 400, "prefix"),
])
def test_bad_deny_changes_are_refused(daemon, method, path, body, token, status, message):
    before = version(daemon.listen)
    code, answer = call(daemon.listen, method, path, body, token)
    assert code == status and message in answer["error"], answer
    assert version(daemon.listen) == before


def test_fairwayctl_deny(daemon):
    refused = ctl(daemon.listen, "deny", "add", "198.18.9.0/24")
    assert refused.returncode == 1 and "401" in refused.stderr
    r = ctl(daemon.listen, "-t", TOKEN, "deny", "add", "198.18.9.0/24", "--service", "web")
    assert r.returncode == 0, r.stderr
    assert "added 198.18.9.0/24 to the deny list of service web" in r.stdout
    listed = ctl(daemon.listen, "deny", "list")
    assert listed.returncode == 0 and "web" in listed.stdout and "198.18.9.0/24" in listed.stdout
    again = ctl(daemon.listen, "-t", TOKEN, "deny", "add", "198.18.9.0/24", "--service", "web")
    assert again.returncode == 1 and "409" in again.stderr
    r = ctl(daemon.listen, "-t", TOKEN, "deny", "remove", "198.18.9.0/24", "--service", "web")
    assert r.returncode == 0, r.stderr
    stats = ctl(daemon.listen, "stats")
    assert stats.returncode == 0 and "UNTRACKED" in stats.stdout and "TO KERNEL" in stats.stdout
