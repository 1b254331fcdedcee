"""workers_poll: adaptive in the namespace lab: idle workers sleep on their queues' AF_XDP
sockets and TAP descriptors, wake for packets, for a new snapshot and for a flow query.

    sudo /usr/bin/python3 -m pytest -v tests/lab/test_lab_adaptive.py
"""
import os
import time

import pytest

import labnet

WORKERS = 2


pytestmark = pytest.mark.skipif(labnet.skip_reason() is not None,
                                reason=labnet.skip_reason() or "")


def _adaptive(config):
    config["workers_poll"] = "adaptive"
    config["workers_idle"] = "10ms"


@pytest.fixture(scope="module")
def lab():
    with labnet.Lab(workers=WORKERS, config_edit=_adaptive) as lab:
        yield lab


def _cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _sleeps(lab):
    status, stats = lab.api("GET", "/api/v1/stats")
    assert status == 200, stats
    return [w["counters"]["idle_sleeps"] for w in stats["workers"]], stats


@pytest.mark.parametrize("vip", [labnet.VIP4_DSR, labnet.VIP4_NAT, labnet.VIP6_DSR])
def test_connections_after_idle(lab, vip):
    time.sleep(0.5)  # every worker asleep: the first packets wake them
    result = lab.client("http", vip, 80, "-n", 100, "--timeout", 2, "--deadline", 60)
    assert result["errors"] == {}, result["errors"]
    assert result["ok"] == 100, result


def test_idle_workers_sleep_instead_of_spinning(lab):
    before, _ = _sleeps(lab)
    time.sleep(1)
    start_cpu, start = _cpu_seconds(lab.fwd.pid), time.monotonic()
    time.sleep(3)
    share = (_cpu_seconds(lab.fwd.pid) - start_cpu) / (time.monotonic() - start)
    after, _ = _sleeps(lab)
    # Busy polling, each worker alone takes a whole CPU (share >= WORKERS).
    assert share < 0.5, "fairwayd used %.2f CPUs while idle" % share
    assert all(b > a for a, b in zip(before, after)), (before, after)


def test_a_change_wakes_sleeping_workers_to_acknowledge_it(lab):
    time.sleep(0.5)
    status, answer = lab.api("PUT", "/api/v1/services/web-dsr/backends/198.18.1.11:80",
                             {"weight": 4})
    assert status == 200, answer
    _, stats = _sleeps(lab)
    versions = [w["snapshot_version"] for w in stats["workers"]]
    assert versions == [stats["snapshot_version"]] * WORKERS, (stats["snapshot_version"], versions)
    lab.api("PUT", "/api/v1/services/web-dsr/backends/198.18.1.11:80", {"weight": 1})


def test_flow_queries_are_answered_by_sleeping_workers(lab):
    result = lab.client("http", labnet.VIP4_DSR, 80, "-n", 50, "--timeout", 2, "--deadline", 60)
    assert result["ok"] == 50, result
    time.sleep(0.5)
    status, flows = lab.api("GET", "/api/v1/flows?service=web-dsr&limit=1000")
    assert status == 200, flows
    assert flows["complete"], flows
    assert flows["count"] >= 50, flows
