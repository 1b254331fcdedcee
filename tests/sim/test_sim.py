"""fairway-sim answers as the data plane does: the same flows through fairwayd (net_pcap ports,
the golden tests' lab) and through fairway-sim on the same configuration go to the same back-ends
and come out as the same frames' headers; a capture gives the same answers as flow lines; bad
input gets a clear error.

Run: /usr/bin/python3 -m pytest -q tests/sim (fairwayd needs root, the simulator does not)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
import golden  # noqa: E402
from golden import (BACKENDS, CLIENT4, CLIENT6, NAT_BACKENDS, VIP4, VIP4_NAT, VIP6, VIP6_NAT,  # noqa: E402
                    Case, from_client, tcp, udp)
from scapy.all import Ether, wrpcap  # noqa: E402

SIM = os.environ.get("FAIRWAY_SIM", os.path.join(os.path.dirname(golden.FAIRWAYD), "fairway-sim"))

FLOWS = ([("tcp", CLIENT4, 41000 + i, VIP4, 80) for i in range(40)] +
         [("tcp", CLIENT4, 42000 + i, VIP4_NAT, 80) for i in range(40)] +
         [("udp", CLIENT4, 43000 + i, VIP4, 53) for i in range(20)] +
         [("tcp", CLIENT6, 44000 + i, VIP6, 80) for i in range(20)] +
         [("tcp", CLIENT6, 45000 + i, VIP6_NAT, 80) for i in range(20)])


def frame(proto, src, sport, dst, dport):
    l3 = tcp(src, dst, sport, dport, "S") if proto == "tcp" else udp(src, dst, sport, dport)
    return from_client() / l3


def line(proto, src, sport, dst, dport):
    def ep(a, p):
        return f"[{a}]:{p}" if ":" in a else f"{a}:{p}"
    return f"{proto} {ep(src, sport)} {ep(dst, dport)}"


@pytest.fixture(scope="module")
def config_file():
    if not os.access(SIM, os.X_OK):
        pytest.skip(f"fairway-sim not built: {SIM}")
    work = tempfile.mkdtemp(prefix="fw-sim-")
    case = Case("sim", "", inputs={"client": [frame(*f) for f in FLOWS]}, expect={})
    config = golden.render_config(case, golden.SERVICES, work, "fwsim")
    path = os.path.join(work, "config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    yield case, path
    shutil.rmtree(work, ignore_errors=True)


def sim(config, *args, stdin=None):
    return subprocess.run([SIM, "-c", config, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)


def sim_backends(config):
    out = sim(config, stdin="\n".join(line(*f) for f in FLOWS) + "\n")
    assert out.returncode == 0, out.stderr
    answers = out.stdout.splitlines()
    assert len(answers) == len(FLOWS), out.stdout
    chosen = []
    for answer in answers:
        m = re.search(r"-> back-end (\S+);", answer)
        assert m, answer
        chosen.append(m.group(1))
    return chosen, answers


def daemon_backends(case):
    """Which back-end fairwayd sent each flow to: by destination MAC (dsr) or address (nat)."""
    reason = golden.skip_reason()
    if reason:
        pytest.skip(reason)
    result = golden.run_case(case, golden.SERVICES)
    frames = result.outputs[("server", 0)]
    assert len(frames) == len(FLOWS)
    by_mac = {b.mac: b for b in BACKENDS}
    chosen = []
    for (proto, src, sport, dst, dport), raw in zip(FLOWS, frames):
        pkt = Ether(raw)
        if dst in (VIP4_NAT, VIP6_NAT):
            ip = pkt.payload
            chosen.append(f"[{ip.dst}]:{ip.payload.dport}" if ":" in ip.dst else
                          f"{ip.dst}:{ip.payload.dport}")
        else:
            b = by_mac[pkt.dst]
            address = b.ip6 if ":" in dst else b.ip4
            chosen.append(f"[{address}]:{dport}" if ":" in address else f"{address}:{dport}")
    return chosen


def test_sim_chooses_the_back_ends_fairwayd_chooses(config_file):
    case, config = config_file
    sim_chosen, _ = sim_backends(config)
    daemon_chosen = daemon_backends(case)
    assert sim_chosen == daemon_chosen
    assert len(set(sim_chosen)) >= 6  # the flows spread over the back-ends of both families


def test_capture_gives_the_answers_of_flow_lines(config_file):
    case, config = config_file
    _, from_lines = sim_backends(config)
    pcap = os.path.join(os.path.dirname(config), "flows.pcap")
    wrpcap(pcap, [frame(*f) for f in FLOWS])
    out = sim(config, "--pcap", pcap, "--port", "client")
    assert out.returncode == 0, out.stderr
    # Same decisions; only the client MAC of the made-up frames differs from the capture's.
    strip = lambda s: re.sub(r"forward on .*", "", s)  # noqa: E731
    assert [strip(a) for a in out.stdout.splitlines()] == [strip(a) for a in from_lines]


def test_what_it_says_about_other_traffic(config_file):
    _, config = config_file
    out = sim(config, stdin=f"tcp {CLIENT4}:1 {VIP4}:81\ntcp {CLIENT4}:1 {VIP4}:80 A\n"
                            f"udp {CLIENT4}:1 198.19.9.9:53\n")
    assert out.returncode == 0, out.stderr
    unserved, midflow, transit = out.stdout.splitlines()
    assert "answered; forward on client" in unserved and "[AR]" in unserved  # a reset
    assert "-> back-end" in midflow  # consistent: the Maglev choice for an ACK without a flow
    assert transit.endswith("forward on client: 02:00:00:00:00:01 > 02:00:00:00:00:fe "
                            f"udp {CLIENT4}:1 -> 198.19.9.9:53")  # routed via the router


@pytest.mark.parametrize("args,stdin,message", [
    (["tcp", "198.18.0.2", "198.18.100.1:80"], None, "cannot read flow"),
    (["udp", "198.18.0.2:1", "198.18.100.1:53", "S"], None, "cannot read flow"),
    (["tcp", "198.18.0.2:1", "[2001:2::1]:80"], None, "one family"),
    (["--port", "nowhere", "tcp", "198.18.0.2:1", "198.18.100.1:80"], None, "no such port"),
    (["--pcap", "/nonexistent.pcap"], None, "/nonexistent.pcap"),
])
def test_bad_input_is_a_clear_error(config_file, args, stdin, message):
    _, config = config_file
    out = sim(config, *args, stdin=stdin)
    assert out.returncode == 2
    assert message in out.stderr, out.stderr
