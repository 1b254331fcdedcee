"""Fragmented UDP datagrams through fairwayd in the namespace lab (MTU 1500 everywhere): 1 400,
3 000 and 9 000 bytes to a dsr and a nat service, IPv4 and IPv6, each echoed whole by the
back-end (lab/servers/udp_echo.py); then the same beside a flood of fragments that never complete
(hping3 -x from random sources), which must cost them, and the unfragmented 1 400-byte ones,
nothing.

    sudo /usr/bin/python3 -m pytest -v tests/lab/test_lab_fragments.py
"""
import pytest

import labflood
import labnet

SIZES = (1400, 3000, 9000)
PER_SIZE = 5
FLOOD_SECONDS = 8
TARGETS = {"dsr4": labnet.VIP4_DSR, "dsr6": labnet.VIP6_DSR,
           "nat4": labnet.VIP4_NAT, "nat6": labnet.VIP6_NAT}


pytestmark = pytest.mark.skipif(labnet.skip_reason() is not None,
                                reason=labnet.skip_reason() or "")


def _add_nat_udp(config):
    """udp nat services on the nat VIPs, port 53 to each back-end's echo on 53."""
    for name, vip, family in (("dns-nat", labnet.VIP4_NAT, 0), ("dns6-nat", labnet.VIP6_NAT, 1)):
        config["services"].append({
            "name": name, "vip": vip, "port": 53, "protocol": "udp", "mode": "nat",
            "backends": [{"address": addrs[family], "port": 53, "weight": labnet.WEIGHTS[b]}
                         for b, addrs in labnet.BACKENDS.items()]})


@pytest.fixture(scope="module")
def lab():
    with labnet.Lab(config_edit=_add_nat_udp) as lab:
        yield lab


def _echo(lab, vip, size, n=PER_SIZE, deadline=60):
    return lab.client("udp", vip, 53, "-n", n, "--size", size, "--timeout", 2,
                      "--deadline", deadline, timeout=deadline + 30)


def _counters(lab):
    status, body = lab.api("GET", "/api/v1/stats")
    assert status == 200, body
    return body["counters"]


def _drops(counters):
    return {k: v for k, v in counters.get("drops", {}).items() if k.startswith("fragment")}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_datagram_echoed(lab, target, size):
    before = _counters(lab)
    r = _echo(lab, TARGETS[target], size)
    after = _counters(lab)
    assert r["ok"] == PER_SIZE and r["errors"] == {}, r
    assert set(r["backends"]) <= set(labnet.WEIGHTS), r["backends"]
    # The answer comes from the VIP: in nat, fairwayd translated the back-end's reply back.
    assert {a["from"] for a in r["answers"]} == {TARGETS[target]}, r["answers"]
    reassembled = after["datagrams_reassembled"] - before["datagrams_reassembled"]
    if size > 1452:  # fragmented on the way in (and, for nat, on the way back)
        assert reassembled >= PER_SIZE * (2 if target.startswith("nat") else 1), (before, after)
    else:
        assert reassembled == 0
    assert _drops(after) == _drops(before), (_drops(before), _drops(after))


def _median_rtt(results):
    rtts = sorted(a["rtt_ms"] for r in results.values() for a in r["answers"])
    return rtts[len(rtts) // 2] if rtts else None


def _traffic(lab):
    """Datagrams of every size to every target, and HTTP connections (unfragmented) beside."""
    results = {}
    for target in sorted(TARGETS):
        for size in SIZES:
            results[(target, size)] = _echo(lab, TARGETS[target], size, n=3, deadline=20)
    http = lab.client("http", labnet.VIP4_NAT, 80, "-n", 30, "--timeout", 2, "--deadline", 30,
                      timeout=60)
    return results, http


def test_flood_of_fragments_costs_nothing(lab):
    quiet, quiet_http = _traffic(lab)
    before = _counters(lab)
    flood = labflood.Flood(lab, FLOOD_SECONDS, "--udp", "-p", 53, "-x", "-d", 200, "--flood",
                           "--rand-source", labnet.VIP4_DSR)
    try:
        results, http = _traffic(lab)
    finally:
        flood.wait()
    after = _counters(lab)
    sent = flood.sent()
    drops = {k: after.get("drops", {}).get(k, 0) - before.get("drops", {}).get(k, 0)
             for k in _drops(after)}
    print("flood: %s fragments sent; fragment drops %s; echo rtt median %s ms quiet, %s ms in "
          "the flood; HTTP %d/30 quiet, %d/30 in the flood"
          % (sent, drops, _median_rtt(quiet), _median_rtt(results), quiet_http["ok"], http["ok"]))
    assert sent and sent > 1000, flood.output()
    # The flood reached the reassembly table and was pushed out of it, not let in for good.
    assert drops.get("fragment_evicted", 0) + drops.get("fragment_timeout", 0) > 0, drops
    assert drops.get("fragment_invalid", 0) == 0, drops
    for key, r in list(results.items()) + list(quiet.items()):
        assert r["ok"] == 3 and r["errors"] == {}, (key, r)
    for h in (quiet_http, http):
        assert h["ok"] == 30 and h["errors"] == {}, h
