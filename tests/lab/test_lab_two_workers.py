"""fairwayd with two workers in the namespace lab: 2-queue veths, one AF_XDP device per queue and
worker (tests/lab/labnet.py multiworker_config, lab/AFXDP-NOTES.md "Several workers on one veth").

    sudo /usr/bin/python3 -m pytest -v tests/lab/test_lab_two_workers.py
"""
import pytest

import labnet

WORKERS = 2
CONNS = 200


pytestmark = pytest.mark.skipif(labnet.skip_reason() is not None,
                                reason=labnet.skip_reason() or "")


@pytest.fixture(scope="module")
def lab():
    with labnet.Lab(workers=WORKERS) as lab:
        yield lab


def _http(lab, vip, requests):
    return lab.client("http", vip, 80, "-n", CONNS, "--requests", requests, "--timeout", 2,
                      "--deadline", 90, timeout=120)


def _check(result, requests):
    assert result["errors"] == {}, result["errors"]
    assert result["ok"] == CONNS, result
    assert sum(result["backends"].values()) == CONNS, result["backends"]
    assert set(result["backends"]) <= set(labnet.WEIGHTS), result["backends"]
    assert len(result["conns"]) == CONNS
    for c in result["conns"]:
        assert len(c["answers"]) == requests, c
        assert len({a["backend"] for a in c["answers"]}) == 1, "one connection, several back-ends: %s" % c


@pytest.mark.parametrize("vip", [labnet.VIP4_DSR, labnet.VIP4_NAT])
@pytest.mark.parametrize("requests", [1, 2])
def test_connections(lab, vip, requests):
    _check(_http(lab, vip, requests), requests)


def test_both_workers_carried_traffic(lab):
    stats = lab.stop_fairwayd()
    assert stats is not None, lab.log_tail()
    workers = stats["workers"]
    assert len(workers) == WORKERS, workers
    for w in workers:
        assert w["counters"]["rx_packets"] > 0, w
        assert w["snapshot_version"] == stats["snapshot_version"], (stats["snapshot_version"], workers)
    assert stats["counters"]["nat_reversed"] > 0, stats["counters"]
    for port in stats["ports"]:
        assert len(port["devices"]) == WORKERS, port
        assert port["device"]["tx_errors"] == 0, port
