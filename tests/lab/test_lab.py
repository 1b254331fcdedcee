"""End-to-end tests in the network-namespace lab (docs/LAB.md).

Run as root:   /usr/bin/python3 -m pytest -v tests/lab
  FAIRWAYD=path          the daemon (default build/fairwayd)
  FAIRWAY_LAB_LB=nftables  run the same tests against the kernel stand-in (lab/baseline-nftables.sh)
                          instead of fairwayd: proves the harness; the data-plane-only checks skip.
  FAIRWAY_LAB_CONNS=300  connections per distribution test

One lab (namespaces, servers, load balancer) is brought up for the whole module and torn down at
the end, also when a test fails or the run is interrupted.

Distribution tolerance: the scheduler (weighted Maglev over the 5-tuple hash, or numgen random
for the stand-in) assigns each new connection independently, with the client's ephemeral source
ports as the only varying input. So the count a back-end gets out of n connections is binomial(n,
p) with p = its weight / total weight (1/6, 2/6, 3/6). At n = 300 the standard deviation of a
share is 2.2, 2.7 and 2.9 percentage points: a fixed +-5 pp band would fail about one correct
run in six. Each share must lie within 3.5 standard deviations of its expected value (and at
least +-5 pp): about 7.5, 9.5 and 10.1 pp at n = 300, a false failure in fewer than 1 in 1000
runs, while a scheduler that ignored the weights (1/3 each) misses the 1/6 and 1/2 shares by
17 pp and fails. Raise FAIRWAY_LAB_CONNS for a tighter band (it shrinks with 1/sqrt(n)).
"""
import json
import math
import os
import shutil

import pytest

import labnet
from labnet import (BACKENDS, CLI4, CLI6, LBC4, LBC6, VIP4_DSR, VIP4_NAT, VIP6_DSR, VIP6_NAT,
                    WEIGHTS)

LB = os.environ.get("FAIRWAY_LAB_LB", "fairwayd")
N = int(os.environ.get("FAIRWAY_LAB_CONNS", "300"))


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (they create network namespaces): run with sudo")
    for tool in ("ip", "ethtool", "ping", "nstat"):
        if shutil.which(tool) is None:
            pytest.skip("%s not installed (see lab/packages.txt)" % tool)
    if LB == "fairwayd":
        binary = labnet.default_fairwayd()
        if not os.access(binary, os.X_OK):
            pytest.skip("fairwayd binary not found at %s: build it first or set FAIRWAYD=path" % binary)
    elif LB == "nftables":
        if shutil.which("nft") is None:
            pytest.skip("nft not installed (apt-get install nftables)")
    else:
        pytest.fail("FAIRWAY_LAB_LB must be fairwayd or nftables, not %r" % LB)
    l = labnet.Lab(lb=LB)
    l.up()
    try:
        yield l
    finally:
        try:
            counters = l.stop_fairwayd()
            if counters:  # shown with pytest -s, and kept in the log with FAIRWAY_LAB_KEEP_LOGS=1
                print("\nfairwayd counters:", json.dumps(counters, sort_keys=True))
        finally:
            l.down()


def needs_dataplane():
    if LB != "fairwayd":
        pytest.skip("checks the data plane itself; the nftables stand-in is the kernel")


def check_shares(counts, n):
    total = sum(counts.values())
    assert total == n, "only %d of %d connections succeeded: %s" % (total, n, counts)
    assert set(counts) <= set(WEIGHTS), counts
    wsum = sum(WEIGHTS.values())
    lines, bad = [], []
    for be, w in sorted(WEIGHTS.items()):
        p = w / wsum
        tol = max(0.05, 3.5 * math.sqrt(p * (1 - p) / n))
        share = counts.get(be, 0) / n
        lines.append("%s: %d (%.1f%%, expected %.1f%% +- %.1f pp)" % (be, counts.get(be, 0), 100 * share,
                                                                      100 * p, 100 * tol))
        if abs(share - p) > tol:
            bad.append(be)
    assert not bad, "shares outside the tolerance for %s:\n  %s" % (bad, "\n  ".join(lines))
    print("\n  ".join(["distribution over %d connections:" % n] + lines))


def http(lab, vip, port=80, n=N, requests=1):
    r = lab.client("http", vip, port, "-n", n, "--requests", requests, "--timeout", 2,
                   "--deadline", max(60, n // 5), timeout=max(90, n // 4))
    assert not r["errors"], "errors on %s:%s: %s" % (vip, port, r["errors"])
    return r


def backend_addr(be, v6):
    return BACKENDS[be][1 if v6 else 0]


# ---- the box itself ----------------------------------------------------------------------------

def test_ping_box_address(lab):
    """198.18.0.1 is the box's own address: ICMP through the data plane, the TAP and the kernel."""
    assert lab.ping(LBC4, count=3), "no answer from %s" % LBC4


def test_ping6_box_address(lab):
    assert lab.ping(LBC6, count=3), "no answer from %s" % LBC6


# ---- distribution ------------------------------------------------------------------------------

def test_dsr_distribution(lab):
    r = http(lab, VIP4_DSR)
    check_shares(r["backends"], N)
    for c in r["conns"]:
        a = c["answers"][0]
        assert a["status"] == 200
        assert a["server"] == "%s:80" % VIP4_DSR, "DSR: the back-end must see the VIP as destination: %s" % a
        assert a["client"] == c["local"], "DSR: the back-end must see the client's address:port: %s" % a


def test_nat_distribution(lab):
    r = http(lab, VIP4_NAT)
    check_shares(r["backends"], N)
    for c in r["conns"]:
        a = c["answers"][0]
        assert a["server"] == "%s:8080" % backend_addr(a["backend"], False), a


def test_nat_backends_see_real_client_address(lab):
    """The nat back-ends see 198.18.0.2 and the client's own port as the source: no SNAT, no proxy.
    With fairwayd the lb namespace's kernel has no address on the data ports, and its forwarding
    counter stays far below the packets these connections need: the data plane carried them."""
    before = lab.nstat("lb", "IpForwDatagrams", "Ip6OutForwDatagrams")
    n = 100
    r = http(lab, VIP4_NAT, n=n)
    r6 = http(lab, VIP6_NAT, n=n)
    after = lab.nstat("lb", "IpForwDatagrams", "Ip6OutForwDatagrams")
    for c in r["conns"] + r6["conns"]:
        a = c["answers"][0]
        assert a["client"] == c["local"], "back-end saw %s, client was %s" % (a["client"], c["local"])
    assert all(c["local"].startswith(CLI4 + ":") for c in r["conns"])
    assert all(c["local"].startswith("[%s]:" % CLI6) for c in r6["conns"])
    if LB == "fairwayd":
        fwd = sum(after.values()) - sum(before.values())
        # each connection is at least 5 packets each way through the box
        assert fwd < n, "the lb kernel forwarded %d datagrams during %d NAT connections" % (fwd, 2 * n)


# ---- flows ------------------------------------------------------------------------------------

@pytest.mark.parametrize("vip", [VIP4_DSR, VIP4_NAT, VIP6_DSR, VIP6_NAT])
def test_keepalive_connection_stays_on_one_backend(lab, vip):
    r = http(lab, vip, n=30, requests=5)
    assert r["ok"] == 30
    for c in r["conns"]:
        bes = {a["backend"] for a in c["answers"]}
        assert len(bes) == 1, "one connection, several back-ends: %s" % c
        assert [int(a["n"]) for a in c["answers"]] == [1, 2, 3, 4, 5], c
        assert {a["client"] for a in c["answers"]} == {c["local"]}, c


@pytest.mark.parametrize("vip", [VIP4_DSR, VIP6_DSR])
def test_udp_echo(lab, vip):
    n = 60
    r = lab.client("udp", vip, 53, "-n", n, "--timeout", 1, "--deadline", 30, timeout=60)
    assert r["ok"] == n, "UDP: %d of %d answered: %s" % (r["ok"], n, r["errors"])
    assert set(r["backends"]) <= set(WEIGHTS)
    assert len(r["backends"]) >= 2, "60 flows all on one back-end: %s" % r["backends"]
    for a in r["answers"]:
        assert (a["from"], a["from_port"]) == (vip, 53), "DSR answer must come from the VIP: %s" % a
    # one 5-tuple: one back-end
    s = lab.client("udp", vip, 53, "-n", 10, "--same-socket", timeout=30)
    assert s["ok"] == 10 and len(s["backends"]) == 1, s


# ---- invalid service ---------------------------------------------------------------------------

@pytest.mark.parametrize("vip", [VIP4_DSR, VIP6_DSR])
def test_unserved_port_is_reset(lab, vip):
    """No service on VIP:81: the SYN is answered by a TCP reset (connection refused), not dropped;
    a drop would show as a timeout after the 1 s bound."""
    r = lab.client("refused", vip, 81, "--timeout", 1, timeout=15)
    assert r["result"] == "refused", r


# ---- IPv6 -------------------------------------------------------------------------------------

def test_ipv6_http_dsr(lab):
    r = http(lab, VIP6_DSR, n=60)
    assert r["ok"] == 60
    for c in r["conns"]:
        a = c["answers"][0]
        assert a["server"] == "[%s]:80" % VIP6_DSR, a
        assert a["client"] == c["local"], a


def test_ipv6_http_nat(lab):
    r = http(lab, VIP6_NAT, n=60)
    assert r["ok"] == 60
    for c in r["conns"]:
        a = c["answers"][0]
        assert a["server"] == "[%s]:8080" % backend_addr(a["backend"], True), a


# ---- the daemon --------------------------------------------------------------------------------

def test_fairwayd_still_running(lab):
    needs_dataplane()
    assert lab.fwd is not None and lab.fwd.poll() is None, "fairwayd exited:\n%s" % lab.log_tail()
