"""Floods for the namespace lab (tests/lab/test_lab_edge.py, bench/lab/flood_bench.py): hping3 in
the client namespace, bounded by timeout(1), and the counters that say where frames were lost.

hping3's random sources (--rand-source) are made-up addresses that no namespace routes: the
packets stay inside the lab's namespaces (the back-ends' answers to them are dropped by the load
balancer, fairwayd's no_route, or by the lb namespace's kernel, which has no route for them).
"""
import json
import os
import signal
import subprocess
import time


def flooder_cpus(lab):
    """taskset for the flood: the CPUs that run no fairwayd worker (lcore N on CPU N, the lab's
    default), so that the flood source does not take the worker's core, as an attacker's machine
    would not; nothing when there is no such CPU."""
    if lab.lb != "fairwayd" or lab.fwd is None:
        return []
    lcores = {w["lcore"] for w in lab.api("GET", "/api/v1/status")[1]["workers"]}
    cpus = sorted(os.sched_getaffinity(0) - lcores)
    return ["taskset", "-c", ",".join(map(str, cpus))] if cpus else []


class _FloodProcess:
    """A flood program in the client namespace, bounded by timeout(1) (SIGINT: the program
    prints its count), nice 19 and pinned off the worker's CPU, started at once; wait() returns
    its elapsed time, then output() and sent() tell what it said."""

    def __init__(self, lab, seconds, name, program, grace=0):
        """`grace`: seconds timeout(1) allows beyond `seconds`, for a program that stops by
        itself (0: timeout's SIGINT is what stops it)."""
        self.limit = seconds + grace
        self.log = os.path.join(lab.logdir, "%s-%d.log" % (name, time.monotonic_ns()))
        self.cmd = ["ip", "netns", "exec", lab.ns("cli"), "timeout", "-s", "INT", "-k", "5",
                    "%g" % self.limit, *flooder_cpus(lab), "nice", "-n", "19", *program]
        with open(self.log, "wb") as f:
            self.proc = subprocess.Popen(self.cmd, stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.started = time.time()

    def wait(self):
        try:
            self.proc.wait(self.limit + 15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.ended = time.time()
        with open(self.log, errors="replace") as f:
            self._output = f.read().strip()  # kept: the log goes with the lab
        return self.ended - self.started

    def output(self):
        return self._output


class Flood(_FloodProcess):
    """hping3 (hping_args) for `seconds`, as fast as it goes with --flood."""

    def __init__(self, lab, seconds, *hping_args):
        super().__init__(lab, seconds, "hping3", ["hping3", "-q", *map(str, hping_args)])

    def sent(self):
        """hping3's own count of packets sent (its statistics line), or None."""
        for line in self.output().splitlines():
            if "packets tramitted" in line or "packets transmitted" in line:
                return int(line.split()[0])
        return None


FLOOD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab",
                            "flood.py")


class PacedFlood(_FloodProcess):
    """lab/flood.py: spoofed TCP segments (flags) at dst:port at a fixed rate (pps), from random
    sources in 198.19.0.0/16.

    A test of what the load balancer does under a flood uses this one: at a rate the lab's
    kernels carry to fairwayd whole, what happens to the real clients is the load balancer's
    doing. hping3 --flood goes as fast as the sending CPU, which differs from host to host and
    can outrun the lab's veth path, which then drops real clients' frames before fairwayd sees
    them (bench/lab/flood_bench.py measures that ceiling)."""

    def __init__(self, lab, seconds, pps, dst, port, flags="S"):
        super().__init__(lab, seconds, "flood", [
            "/usr/bin/python3", FLOOD_SCRIPT, dst, str(port), "--pps", str(pps),
            "--seconds", "%g" % seconds, "--flags", flags], grace=10)

    def sent(self):
        """flood.py's count of segments sent, or None."""
        for line in reversed(self.output().splitlines()):
            try:
                return int(json.loads(line)["sent"])
            except (ValueError, KeyError, TypeError):
                continue
        return None


def xdp_dropped(lab):
    """Frames the kernel dropped on lb-cli before fairwayd saw them (its AF_XDP receive ring was
    full: the worker did not keep up). fairwayd's own device counters do not include them."""
    r = lab.run("lb", "ip", "-s", "-j", "link", "show", "lb-cli", timeout=10)
    try:
        return json.loads(r.stdout)[0]["stats64"]["rx"]["dropped"]
    except (ValueError, LookupError):
        return 0


def softnet_drops():
    """Frames the machine's kernels dropped for a full per-CPU backlog (netdev_max_backlog), all
    namespaces together (/proc/net/softnet_stat, second column): where the lab's own veths and
    bridge lose packets when a flood outruns the kernel, before or after fairwayd."""
    try:
        with open("/proc/net/softnet_stat") as f:
            return sum(int(line.split()[1], 16) for line in f if line.strip())
    except (OSError, IndexError, ValueError):
        return 0
