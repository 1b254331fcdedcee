#!/usr/bin/python3
"""Pipeline benchmark (docs/DESIGN.md, "The performance method").

One capture of 64-byte frames per case (established dsr flows, established nat flows, SYN-only
new flows; N distinct flows each), replayed by net_pcap with infinite_rx=1 into fairwayd with one
worker and out to net_null, and into `dpdk-testpmd --forward-mode=macswap` as the baseline (--baseline 5tswap or csum: a
forwarder that parses the L3/L4 headers too), with
the same EAL memory setup, mbuf size, pool size, mempool cache, descriptors and CPU pinning.
Runs alternate (baseline, fairwayd, baseline, ...) for --rounds rounds; the table shows medians.
Prints one table; --json and --plot write the same figures.

Memory regimes (--regime): `huge`, the deployment's (2 MB hugepages: the benchmark reserves the
pages it needs in /proc/sys/vm/nr_hugepages and gives them back at the end, and says so),
`no-huge` (4 KB pages, EAL --no-huge), `both`, or `auto` (the default: huge when hugetlbfs is
mounted and the pages can be reserved, else no-huge). fairwayd runs with its flow table sized to
the flows (`sized`: max(1024, 2 x flows)) and with its default capacity (`default`,
--table both, the default), against one testpmd baseline.

    /usr/bin/python3 bench/pipeline_bench.py [--cases dsr-established,nat-established,syn-new]
        [--flows 1000,100000,1000000] [--seconds 2] [--rounds 3] [--regime auto|huge|no-huge|both]
        [--table sized|default|both] [--baseline macswap|5tswap|csum|io] [--json F] [--plot F.png]

Needs root (DPDK EAL), a built build/fairwayd and dpdk-testpmd. Captures are cached under
/tmp/fairway-bench/ keyed by case, flow count and generator version.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import queue
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FAIRWAYD = os.environ.get("FAIRWAYD", os.path.join(ROOT, "build", "fairwayd"))
TESTPMD = os.environ.get("TESTPMD", shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd")
CACHE_DIR = "/tmp/fairway-bench"
GENERATOR_VERSION = 1  # part of the cache key: bump when the frames change

ALL_CASES = ("dsr-established", "nat-established", "syn-new", "syn-flood")
DEFAULT_FLOW_CAPACITY = 1 << 20  # fairwayd's default flow_table.capacity (src/control/config.h)
DEFAULT_FLOWS = (1000, 100_000, 1_000_000)

# The topology (as in tests/golden/golden.py): client port, server port, back-ends.
CLIENT_PORT_MAC, SERVER_PORT_MAC = "02:00:00:00:00:01", "02:00:00:00:01:01"
CLIENT_MAC = "02:00:00:00:00:02"
VIP_DSR, VIP_NAT, VIP_PORT, NAT_BACKEND_PORT = "198.18.100.1", "198.18.100.2", 80, 8080
BACKENDS = [(f"198.18.1.{11 + i}", f"02:00:00:00:01:{11 + i:02x}") for i in range(4)]
CLIENT_BASE = 0x64400000  # 100.64.0.0/10: 16 source ports per client address
SYN_TIMEOUT = "100ms"     # the minimum: a SYN's flow expires before the capture comes round

# fairwayd's mbuf pool (src/dataplane/daemon.cc), mirrored in testpmd's options.
MBUF_CACHE = 256
MBUF_DATA_ROOM = 2048 + 128  # RTE_MBUF_DEFAULT_BUF_SIZE
DESCRIPTORS = 1024           # kRxDescriptors / kTxDescriptors in src/dataplane/ports.cc
BURST = 32
LCORES = "0@0,1@1"           # fairwayd's default for one worker: main on CPU 0, worker on CPU 1
                             # (--main-cpu/--worker-cpu change it for both programs)
REGIME = "no-huge"           # the memory regime of the runs in progress: "huge" or "no-huge"
# testpmd's forwarding mode for the baseline: macswap (swaps the Ethernet addresses, reads no other
# header), 5tswap (parses Ethernet, IPv4/IPv6 and TCP/UDP and swaps addresses and ports), csum
# (parses and recomputes the checksums in software). --baseline.
BASELINE = "macswap"
BASELINES = ("macswap", "5tswap", "csum", "io")
HUGE_DIR = None              # the hugetlbfs mount the huge regime uses (EAL --huge-dir)
OWN_HUGE_DIR = "/run/fairway-bench-hugepages"  # mounted (and unmounted) here when there is none
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
MBUF_OBJECT_BYTES = 2368     # one pool object: header, headroom, data room (rte_mempool_calc_obj_size)

_FTMEM_SOURCE = r"""
#include <cstdio>
#include <cstdlib>
#include "lb/flow_table.h"
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    fairway::FlowTable table(std::strtoull(argv[i], nullptr, 10));
    std::printf("%s %zu\n", argv[i], table.memory_bytes());
  }
}
"""


def flow_table_bytes(capacities: list) -> tuple[dict, str]:
    """capacity -> bytes, from FlowTable::memory_bytes() of the built library (build/
    libfairway_lb.a, the layout fairwayd was linked with), so the figure follows layout changes.
    Falls back to the layout documented when this was written (16-slot buckets of 64 B of tags
    and 16 x 64 B entries, 1.25 x head-room: 85 B per flow of capacity)."""
    build = os.path.dirname(FAIRWAYD)
    libs = [os.path.join(build, f"libfairway_{n}.a") for n in ("lb", "packet")]
    workdir = CHILDREN.tempdir("fwbench-ftmem-")
    try:
        src, exe = os.path.join(workdir, "ftmem.cc"), os.path.join(workdir, "ftmem")
        with open(src, "w") as f:
            f.write(_FTMEM_SOURCE)
        subprocess.run(["g++", "-std=c++20", "-O1", "-I", os.path.join(ROOT, "src"), src, *libs,
                        "-o", exe], check=True, capture_output=True, timeout=120)
        out = subprocess.run([exe, *map(str, capacities)], check=True, capture_output=True,
                             text=True, timeout=120).stdout
        return {int(a): int(b) for a, b in (line.split() for line in out.splitlines())}, \
            "FlowTable::memory_bytes() of build/libfairway_lb.a"
    except (OSError, subprocess.SubprocessError) as e:
        log(f"cannot measure FlowTable::memory_bytes() ({e}): using the documented layout")
        return {c: max((c * 5 // 4 + 15) // 16, 2) * (64 + 16 * 64) for c in capacities}, \
            "documented layout (64 B tag line + 16 x 64 B entries per 16 slots, 1.25 x head-room)"
    finally:
        CHILDREN.remove(workdir)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Captures

def _mac(s: str) -> bytes:
    return bytes(int(x, 16) for x in s.split(":"))


def _ip(s: str) -> int:
    a, b, c, d = (int(x) for x in s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _template(case: str) -> tuple[bytes, int, int]:
    """60-byte frame (64 on the wire with the FCS) with source 0.0.0.0:0, built by scapy, and the
    one's-complement sums its IPv4 and TCP checksums cover, to patch per flow."""
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import IP, TCP, Ether, Padding
    vip = VIP_NAT if case == "nat-established" else VIP_DSR
    flags = "S" if case in ("syn-new", "syn-flood") else "A"
    ack = 0 if flags == "S" else 1001
    pkt = (Ether(src=CLIENT_MAC, dst=CLIENT_PORT_MAC) /
           IP(src="0.0.0.0", dst=vip, id=1, ttl=64) /
           TCP(sport=0, dport=VIP_PORT, flags=flags, seq=1000, ack=ack, window=8192))
    raw = bytes(pkt)
    raw += bytes(60 - len(raw))  # Ethernet padding to the 60-byte minimum
    ip_sum = (~struct.unpack_from(">H", raw, 24)[0]) & 0xFFFF
    tcp_sum = (~struct.unpack_from(">H", raw, 50)[0]) & 0xFFFF
    return raw, ip_sum, tcp_sum


def _check_frames(path: str, case: str, flows: int) -> None:
    """scapy re-computes the checksums of a few generated frames: the patching must agree."""
    from scapy.all import IP, TCP, Ether, rdpcap
    from scapy.utils import PcapReader
    with PcapReader(path) as reader:
        for i, pkt in enumerate(reader):
            if i >= 5:
                break
            raw = bytes(pkt)
            assert len(raw) == 60, len(raw)
            fresh = Ether(raw)
            del fresh[IP].chksum
            del fresh[TCP].chksum
            fresh = Ether(bytes(fresh))
            assert fresh[IP].chksum == pkt[IP].chksum, (case, i, "ip checksum")
            assert fresh[TCP].chksum == pkt[TCP].chksum, (case, i, "tcp checksum")
    del rdpcap  # imported to fail early if scapy is incomplete


def capture(case: str, flows: int) -> str:
    """The cached capture for (case, flows): one frame per flow, flows in order."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    path = os.path.join(CACHE_DIR, f"v{GENERATOR_VERSION}-{case}-{flows}.pcap")
    if os.path.exists(path):
        return path
    start = time.monotonic()
    frame, ip_sum, tcp_sum = _template(case)
    record = struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
    size = len(record)
    buf = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)) + record * flows
    pack_into = struct.pack_into
    for i in range(flows):
        src = CLIENT_BASE + (i >> 4)
        sport = 1024 + (i & 15)
        hi, lo = src >> 16, src & 0xFFFF
        s = ip_sum + hi + lo
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        t = tcp_sum + hi + lo + sport
        t = (t & 0xFFFF) + (t >> 16)
        t = (t & 0xFFFF) + (t >> 16)
        off = 24 + i * size + 16  # pcap global header, then record header
        pack_into(">HI", buf, off + 24, (~s) & 0xFFFF, src)
        pack_into(">H", buf, off + 34, sport)
        pack_into(">H", buf, off + 50, (~t) & 0xFFFF)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(buf)
    _check_frames(tmp, case, flows)
    os.replace(tmp, path)
    log(f"generated {path}: {flows} frames in {time.monotonic() - start:.1f} s")
    return path


# ---------------------------------------------------------------------------------------------
# Processes: every child is tracked by PID and stopped on exit, error or signal.

class Children:
    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        self.dirs: list[str] = []

    def start(self, argv, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, sig=signal.SIGTERM, timeout=20.0) -> int | None:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
                proc.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def tempdir(self, prefix: str) -> str:
        d = tempfile.mkdtemp(prefix=prefix)
        self.dirs.append(d)
        return d

    def remove(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)
        if path in self.dirs:
            self.dirs.remove(path)

    def cleanup(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, signal.SIGTERM, timeout=10)
        for d in list(self.dirs):
            self.remove(d)


CHILDREN = Children()


def worker_thread(pid: int) -> int | None:
    """The TID of the process's DPDK worker lcore thread (rte-worker-1 / lcore-worker-1)."""
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() in ("rte-worker-1", "lcore-worker-1"):
                    return int(tid)
    except OSError:
        pass
    return None


def cpu_clock(pid: int, tid: int | None) -> tuple[float, int] | None:
    """(wall time, nanoseconds the thread has run) from /proc/.../schedstat."""
    if tid is None:
        return None
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            return time.monotonic(), int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def cpu_share(a, b) -> float | None:
    """Share of the window the busy-polling thread was on a CPU: below ~0.95 another process
    took the core (the machine is shared) and the run's rate is understated."""
    if a is None or b is None or b[0] <= a[0]:
        return None
    return (b[1] - a[1]) / 1e9 / (b[0] - a[0])
_run_ids = iter(range(1_000_000))


def _unique_prefix(tool: str) -> str:
    return f"fwbench{os.getpid()}-{tool}{next(_run_ids)}"


def eal_memory_mb(mbufs: int, regime: str | None = None) -> int:
    if (regime or REGIME) == "huge":
        # Objects pack into the 2 MB pages; plus the ring, caches and EAL's own allocations.
        return int(mbufs * MBUF_OBJECT_BYTES * 1.05 / 2**20) + 128
    # Without hugepages a pktmbuf pool's objects may not cross a 4 KB page (the pool wants
    # IOVA-contiguous objects; rte_mempool_get_page_size() then uses the system page size), so
    # each ~2.4 KB mbuf takes a page of its own. Plus the ring, caches and EAL's allocations.
    return int(mbufs * 4096 * 1.02 / 2**20) + 256


def eal_memory_args(mbufs: int) -> list:
    if REGIME == "huge":
        return ["-m", str(eal_memory_mb(mbufs)), "--huge-dir", HUGE_DIR]
    return ["--no-huge", "-m", str(eal_memory_mb(mbufs))]


class Hugepages:
    """Reserves 2 MB pages for the huge regime and gives them back: nr_hugepages as it was."""

    def __init__(self):
        self.original = None
        self.own_mount = False

    @staticmethod
    def mount_point() -> str | None:
        """A hugetlbfs mount of 2 MB pages, if there is one."""
        with open("/proc/mounts") as f:
            for line in f:
                fields = line.split()
                if len(fields) > 3 and fields[2] == "hugetlbfs" and "pagesize=1G" not in fields[3]:
                    return fields[1]
        return None

    def mounted(self) -> bool:
        global HUGE_DIR
        HUGE_DIR = self.mount_point()
        if HUGE_DIR is None:
            os.makedirs(OWN_HUGE_DIR, exist_ok=True)
            if subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev",
                               OWN_HUGE_DIR]).returncode != 0:
                return False
            self.own_mount, HUGE_DIR = True, OWN_HUGE_DIR
            log(f"hugepages: mounted hugetlbfs at {OWN_HUGE_DIR} (unmounted at the end)")
        return True

    @staticmethod
    def free_pages() -> int:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("HugePages_Free:"):
                    return int(line.split()[1])
        return 0

    def reserve(self, pages: int) -> str | None:
        """None when `pages` free 2 MB pages are there, else why not."""
        if not self.mounted():
            return "no hugetlbfs mount"
        with open(NR_HUGEPAGES) as f:
            current = int(f.read())
        if self.original is None:
            self.original = current
        missing = pages - self.free_pages()
        if missing > 0:
            with open(NR_HUGEPAGES, "w") as f:
                f.write(str(current + missing))
        free = self.free_pages()
        if free < pages:
            return f"only {free} of {pages} 2 MB pages could be reserved"
        log(f"hugepages: {free} free 2 MB pages (nr_hugepages {self.original} before; "
            "given back at the end)")
        return None

    def release(self) -> None:
        if self.own_mount:
            subprocess.run(["umount", OWN_HUGE_DIR])
            os.rmdir(OWN_HUGE_DIR)
            self.own_mount = False
        if self.original is not None:
            with open(NR_HUGEPAGES, "w") as f:
                f.write(str(self.original))
            log(f"hugepages: nr_hugepages back to {self.original}")
            self.original = None


def pool_size(flows: int) -> int:
    """net_pcap's infinite_rx keeps the whole capture in mbufs and copies each frame into a new
    mbuf per receive: the pool holds the capture plus rings, caches and bursts in flight."""
    return flows + 32767


# ---------------------------------------------------------------------------------------------
# testpmd macswap

_BLOCK = re.compile(r"NIC statistics for port (\d+)")
_TXPPS = re.compile(r"Tx-pps:\s+(\d+)")


def run_testpmd(pcap: str, flows: int, seconds: int, warmup_blocks: int) -> dict:
    prefix = _unique_prefix("tp")
    workdir = CHILDREN.tempdir("fwbench-tp-")
    out_path = os.path.join(workdir, "testpmd.out")
    mbufs = pool_size(flows)
    argv = ["stdbuf", "-oL", TESTPMD, "--lcores", LCORES, "--no-pci",
            "--vdev", f"net_pcap0,rx_pcap={pcap},infinite_rx=1",
            "--vdev", "net_null0,no-rx=1",
            *eal_memory_args(mbufs), "--file-prefix", prefix,
            "--log-level", "*:warning", "--",
            f"--forward-mode={BASELINE}", "--nb-cores=1", "--rxq=1", "--txq=1",
            f"--total-num-mbufs={mbufs}", f"--mbcache={MBUF_CACHE}",
            f"--mbuf-size={MBUF_DATA_ROOM}", f"--rxd={DESCRIPTORS}", f"--txd={DESCRIPTORS}",
            f"--burst={BURST}", "--stats-period", "1"]
    try:
        with open(out_path, "wb") as out:
            proc = CHILDREN.start(argv, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        wanted = warmup_blocks + seconds + 1
        deadline = time.monotonic() + 120 + seconds
        samples: list[int] = []
        clock0 = clock1 = None
        tid = None
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if proc.poll() is not None:
                break
            samples = _port_tx_pps(out_path, port=1)
            if tid is None:
                tid = worker_thread(proc.pid)
            if clock0 is None and len(samples) >= warmup_blocks + 1:
                clock0 = cpu_clock(proc.pid, tid)
            if len(samples) >= wanted:
                clock1 = cpu_clock(proc.pid, tid)
                break
        CHILDREN.stop(proc, signal.SIGINT)
        samples = _port_tx_pps(out_path, port=1)
        if len(samples) < wanted:
            with open(out_path, errors="replace") as f:
                tail = f.read()[-3000:]
            raise RuntimeError(f"testpmd gave {len(samples)} stats blocks, wanted {wanted}:\n{tail}")
        window = samples[warmup_blocks + 1:warmup_blocks + 1 + seconds]
        return {"mpps": statistics.mean(window) / 1e6, "samples_mpps": [x / 1e6 for x in window],
                "mbufs": mbufs, "cpu_share": cpu_share(clock0, clock1)}
    finally:
        CHILDREN.remove(workdir)
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)


def _port_tx_pps(path: str, port: int) -> list[int]:
    """Tx-pps of `port` from each periodic stats block, in order."""
    with open(path, errors="replace") as f:
        text = f.read()
    values, current = [], None
    for line in text.splitlines():
        m = _BLOCK.search(line)
        if m:
            current = int(m.group(1))
            continue
        m = _TXPPS.search(line)
        if m and current == port:
            values.append(int(m.group(1)))
            current = None
    return values


# ---------------------------------------------------------------------------------------------
# fairwayd

def flow_capacity(case: str, flows: int, table_mode: str = "sized") -> int:
    """Sized to the flows, except for the flood: fairwayd's default table, which the flood's
    distinct SYNs overflow, so that every SYN takes the eviction path (a half-open entry goes).
    table_mode "default": fairwayd's default capacity, as a deployment without the key runs."""
    if table_mode == "default" or case == "syn-flood":
        return DEFAULT_FLOW_CAPACITY
    return max(1024, 2 * flows)


def fairwayd_config(case: str, pcap: str, flows: int, prefix: str,
                    table_mode: str = "sized") -> dict:
    mbufs = pool_size(flows)
    backends = [{"address": a} for a, _ in BACKENDS]
    nat_backends = [{"address": a, "port": NAT_BACKEND_PORT} for a, _ in BACKENDS]
    timeouts = {"tcp_syn": SYN_TIMEOUT} if case == "syn-new" else {}
    return {
        "workers": 1,
        "mbufs": mbufs,
        "eal": {"lcores": LCORES,
                "args": [*eal_memory_args(mbufs), "--file-prefix", prefix,
                         "--log-level", "*:warning"]},
        "flow_table": {"capacity": flow_capacity(case, flows, table_mode), "timeouts": timeouts},
        "ports": [
            {"name": "client", "device": f"net_pcap0,rx_pcap={pcap},infinite_rx=1",
             "mac": CLIENT_PORT_MAC, "addresses": ["198.18.0.1/24"], "exception_path": False},
            {"name": "server", "device": "net_null0,no-rx=1", "mac": SERVER_PORT_MAC,
             "addresses": ["198.18.1.1/24"], "exception_path": False},
        ],
        "neighbors": [{"address": a, "mac": m, "port": "server"} for a, m in BACKENDS],
        "routes": [],
        "services": [
            {"name": "web-dsr", "vip": VIP_DSR, "port": VIP_PORT, "protocol": "tcp", "mode": "dsr",
             "backends": backends},
            {"name": "web-nat", "vip": VIP_NAT, "port": VIP_PORT, "protocol": "tcp", "mode": "nat",
             "backends": nat_backends},
        ],
    }


class Daemon:
    """fairwayd with its stdout read by a thread: each SIGUSR1 JSON line, timestamped."""

    def __init__(self, argv, stderr_path):
        self.stderr_path = stderr_path
        self.err = open(stderr_path, "wb")
        self.proc = CHILDREN.start(argv, stdout=subprocess.PIPE, stderr=self.err,
                                   stdin=subprocess.DEVNULL)
        self.lines: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            now = time.monotonic()
            line = raw.strip()
            if line.startswith(b"{") and line.endswith(b"}"):
                try:
                    self.lines.put((now, json.loads(line)))
                except ValueError:
                    pass

    def sample(self, timeout=5.0) -> tuple[float, dict]:
        while not self.lines.empty():
            self.lines.get_nowait()
        if self.proc.poll() is not None:
            raise RuntimeError(f"fairwayd exited {self.proc.returncode}:\n{self.stderr_tail()}")
        os.kill(self.proc.pid, signal.SIGUSR1)
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"fairwayd did not answer SIGUSR1:\n{self.stderr_tail()}") from None

    def wait_running(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fairwayd exited {self.proc.returncode}:\n{self.stderr_tail()}")
            if "fairwayd running" in self.stderr_tail():
                return
            time.sleep(0.1)
        raise RuntimeError(f"fairwayd not running after {timeout} s:\n{self.stderr_tail()}")

    def stderr_tail(self) -> str:
        self.err.flush()
        with open(self.stderr_path, errors="replace") as f:
            return f.read()[-3000:]

    def stop(self):
        CHILDREN.stop(self.proc, signal.SIGTERM)
        self.reader.join(5)
        self.err.close()


def _delta(a: dict, b: dict) -> dict:
    out = {}
    for k, v in b.items():
        if isinstance(v, (int, float)):
            out[k] = v - a.get(k, 0)
    drops = {}
    for reason, n in b.get("drops", {}).items():
        d = n - a.get("drops", {}).get(reason, 0)
        if d:
            drops[reason] = d
    out["drops"] = drops
    return out


def run_fairwayd(case: str, pcap: str, flows: int, seconds: float, warmup: float,
                 table_mode: str = "sized") -> dict:
    prefix = _unique_prefix("fw")
    workdir = CHILDREN.tempdir("fwbench-fw-")
    cfg_path = os.path.join(workdir, "fairwayd.yaml")  # JSON is YAML
    config = fairwayd_config(case, pcap, flows, prefix, table_mode)
    with open(cfg_path, "w") as f:
        json.dump(config, f, indent=1)
    daemon = None
    binary_mtime = os.stat(FAIRWAYD).st_mtime
    try:
        for attempt in range(5):  # the binary may be relinked under us in a shared tree
            try:
                daemon = Daemon([FAIRWAYD, "-c", cfg_path], os.path.join(workdir, "stderr"))
                break
            except OSError:
                if attempt == 4:
                    raise
                time.sleep(2)
        # SIGUSR1 kills the daemon until its handler is installed (after EAL init): wait for
        # the "fairwayd running" log line first.
        daemon.wait_running(timeout=120)
        # Warm-up: one whole pass over the capture (it creates the flows) and `warmup` s.
        deadline = time.monotonic() + 120
        first_rx_at = None
        while True:
            time.sleep(0.25)
            now, stats = daemon.sample(timeout=30)
            rx = stats["counters"]["rx_packets"]
            if rx and first_rx_at is None:
                first_rx_at = now
            if first_rx_at is not None and rx >= flows and now - first_rx_at >= warmup:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"fairwayd received {rx} packets in 120 s")
        tid = worker_thread(daemon.proc.pid)
        clock0 = cpu_clock(daemon.proc.pid, tid)
        t0, s0 = daemon.sample()
        time.sleep(seconds)
        t1, s1 = daemon.sample()
        clock1 = cpu_clock(daemon.proc.pid, tid)
        daemon.stop()
        daemon = None
        d = _delta(s0["counters"], s1["counters"])
        dt = t1 - t0
        rx = max(d["rx_packets"], 1)
        return {
            "mpps": d["tx_packets"] / dt / 1e6,
            "rx_mpps": d["rx_packets"] / dt / 1e6,
            "cycles_per_packet": d["busy_cycles"] / rx,
            "packets_per_busy_iteration": d["rx_packets"] / max(d["busy_iterations"], 1),
            "tsc_hz_estimate": d["busy_cycles"] / dt,
            "new_flow_fraction": d["flows_created"] / rx,
            "evicted_fraction": d.get("flows_evicted_half_open", 0) / rx,
            "untracked_fraction": d.get("flows_untracked", 0) / rx,
            "consistent_fraction": d["flows_consistent"] / rx,
            "drops": d["drops"],
            "flows_in_table": s1["flows"],
            "seconds": dt,
            "mbufs": config["mbufs"],
            "flow_capacity": config["flow_table"]["capacity"],
            "cpu_share": cpu_share(clock0, clock1),
            # Other engineers may relink the binary between runs: say which one ran.
            "fairwayd_mtime": time.strftime("%H:%M:%S", time.localtime(binary_mtime)),
        }
    finally:
        if daemon is not None:
            daemon.stop()
        CHILDREN.remove(workdir)
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Reporting

def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(case: str, flows: int, tp_runs: list, fw_runs: list, table_bytes: dict,
              regime: str = "no-huge", table_mode: str = "sized") -> dict:
    fw_mpps = statistics.median(r["mpps"] for r in fw_runs)
    tp_mpps = statistics.median(r["mpps"] for r in tp_runs)
    capacity = fw_runs[0]["flow_capacity"]
    table = table_bytes[capacity]
    drops: dict = {}
    for r in fw_runs:
        for k, v in r["drops"].items():
            drops[k] = drops.get(k, 0) + v
    tsc = statistics.median(r["tsc_hz_estimate"] for r in fw_runs)
    # Per on-CPU second: each run's rate divided by the share of the window its busy-polling
    # thread actually ran (the machine is shared; both programs poll without pause).
    fw_norm = _median(r["mpps"] / r["cpu_share"] if r["cpu_share"] else None for r in fw_runs)
    tp_norm = _median(r["mpps"] / r["cpu_share"] if r["cpu_share"] else None for r in tp_runs)
    fw_cyc = _median(r["cycles_per_packet"] * r["cpu_share"] if r["cpu_share"] else None
                     for r in fw_runs)
    return {
        "regime": regime, "table": table_mode,
        "case": case, "flows": flows,
        "fairwayd_mpps": fw_mpps, "baseline": BASELINE, "testpmd_mpps": tp_mpps,
        **({"testpmd_macswap_mpps": tp_mpps} if BASELINE == "macswap" else {}),
        "ratio": fw_mpps / tp_mpps if tp_mpps else None,
        "cycles_per_packet": statistics.median(r["cycles_per_packet"] for r in fw_runs),
        "testpmd_cycles_per_packet": tsc / (tp_mpps * 1e6) if tp_mpps else None,
        "fairwayd_mpps_per_cpu": fw_norm, "testpmd_mpps_per_cpu": tp_norm,
        "ratio_per_cpu": fw_norm / tp_norm if fw_norm and tp_norm else None,
        "cycles_per_packet_on_cpu": fw_cyc,
        "testpmd_cycles_per_packet_on_cpu": tsc / (tp_norm * 1e6) if tp_norm else None,
        "bytes_per_flow": table / capacity,
        "flow_table_bytes": table, "flow_capacity": capacity,
        "bytes_per_benchmark_flow": table / flows,
        "new_flow_fraction": statistics.median(r["new_flow_fraction"] for r in fw_runs),
        "evicted_fraction": statistics.median(r.get("evicted_fraction", 0) for r in fw_runs),
        "untracked_fraction": statistics.median(r.get("untracked_fraction", 0) for r in fw_runs),
        "drops": drops,
        "fairwayd_runs_mpps": [r["mpps"] for r in fw_runs],
        "testpmd_runs_mpps": [r["mpps"] for r in tp_runs],
        "mbufs": fw_runs[0]["mbufs"],
        "fairwayd_cpu_share": _median(r["cpu_share"] for r in fw_runs),
        "testpmd_cpu_share": _median(r["cpu_share"] for r in tp_runs),
        "fairwayd_runs": fw_runs, "testpmd_runs": tp_runs,
    }


def _share(x) -> str:
    return "  ?" if x is None else f"{x:4.2f}"


def _f(x, fmt) -> str:
    return "?" if x is None else format(x, fmt)


def baseline_mpps(r: dict) -> float:
    """The testpmd baseline's Mpps of a row (JSON written before --baseline: macswap's key)."""
    return r["testpmd_mpps"] if "testpmd_mpps" in r else r["testpmd_macswap_mpps"]


def table(rows: list) -> str:
    head = (f"{'regime':7} {'table':7} {'case':16} {'flows':>8} {'fairwayd':>8} {BASELINE:>8} {'ratio':>5} "
            f"{'cpu fw/tp':>9} | {'fw/cpu':>7} {'ms/cpu':>7} {'ratio':>5} {'cyc/pkt':>7} "
            f"{'(ms)':>5} | {'B/flow':>6} {'tableMB':>7} {'new/pkt':>7}  drops")
    lines = [head, "-" * len(head)]
    for r in rows:
        drops = ",".join(f"{k}={v}" for k, v in r["drops"].items()) or "0"
        lines.append(
            f"{r['regime']:7} {r['table']:7} {r['case']:16} {r['flows']:>8} "
            f"{r['fairwayd_mpps']:>8.2f} "
            f"{baseline_mpps(r):>8.2f} {r['ratio']:>5.2f} "
            f"{_share(r['fairwayd_cpu_share'])}/{_share(r['testpmd_cpu_share'])} | "
            f"{_f(r['fairwayd_mpps_per_cpu'], '7.2f')} {_f(r['testpmd_mpps_per_cpu'], '7.2f')} "
            f"{_f(r['ratio_per_cpu'], '5.2f')} {_f(r['cycles_per_packet_on_cpu'], '7.0f')} "
            f"{_f(r['testpmd_cycles_per_packet_on_cpu'], '5.0f')} | "
            f"{r['bytes_per_flow']:>6.1f} {r['flow_table_bytes'] / 1e6:>7.1f} "
            f"{r['new_flow_fraction']:>7.2f}  {drops}")
    return "\n".join(lines)


def plot(rows: list, path: str) -> None:
    cases = list(dict.fromkeys(r["case"] for r in rows))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return plot_svg(rows, cases, path if path.endswith(".svg") else path + ".svg")
    regimes = list(dict.fromkeys(r["regime"] for r in rows))
    fig, axes = plt.subplots(1, len(regimes), figsize=(6.5 * len(regimes), 5), squeeze=False)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    styles = {"sized": "o-", "default": "s:"}
    for ax, regime in zip(axes[0], regimes):
        for i, case in enumerate(cases):
            mine = [r for r in rows if r["regime"] == regime and r["case"] == case]
            for t in dict.fromkeys(r["table"] for r in mine):
                pts = sorted((r["flows"], r["fairwayd_mpps"]) for r in mine if r["table"] == t)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], styles.get(t, "o-"),
                        color=colors[i % 4], label=f"fairwayd {case}, table {t}")
            base = sorted({(r["flows"], baseline_mpps(r)) for r in mine})
            ax.plot([p[0] for p in base], [p[1] for p in base], "x--", color=colors[i % 4],
                    alpha=0.5, label=f"testpmd {r.get('baseline', 'macswap')}, {case} capture")
        ax.set_xscale("log")
        ax.set_xlabel("distinct flows in the capture")
        ax.set_ylabel("Mpps (wall clock), one worker, 64-byte frames")
        ax.set_ylim(bottom=0)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title({"huge": "2 MB hugepages", "no-huge": "4 KB pages (--no-huge)"}.get(regime,
                                                                                     regime))
        ax.legend(fontsize=6)
    fig.suptitle("Fairway pipeline: net_pcap infinite_rx -> one worker -> net_null "
                 "(medians of interleaved runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_svg(rows: list, cases: list, path: str) -> None:
    w, h, m = 640, 400, 60
    flows = sorted({r["flows"] for r in rows})
    ymax = max(max(r["fairwayd_mpps"], baseline_mpps(r)) for r in rows) * 1.1
    lx = [math.log10(f) for f in flows]
    x0, x1 = min(lx) - 0.2, max(lx) + 0.2

    def xy(f, v):
        return (m + (math.log10(f) - x0) / (x1 - x0) * (w - 2 * m),
                h - m - v / ymax * (h - 2 * m))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
           f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>']
    for f in flows:
        x, _ = xy(f, 0)
        out.append(f'<text x="{x:.0f}" y="{h - m + 18}" font-size="11" text-anchor="middle">{f}</text>')
    for v in range(0, int(ymax) + 1, max(1, int(ymax) // 5)):
        _, y = xy(flows[0], v)
        out.append(f'<text x="{m - 6}" y="{y + 4:.0f}" font-size="11" text-anchor="end">{v}</text>')
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    for i, case in enumerate(cases):
        pts = sorted((r["flows"], r["fairwayd_mpps"], baseline_mpps(r))
                     for r in rows if r["case"] == case and r["regime"] == rows[0]["regime"]
                     and r["table"] == rows[0]["table"])
        for k, dash in ((1, ""), (2, ' stroke-dasharray="4 3" opacity="0.5"')):
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(p[0], p[k]) for p in pts))
            out.append(f'<polyline points="{d}" fill="none" stroke="{colors[i % 4]}"{dash}/>')
        out.append(f'<text x="{w - m}" y="{m + 14 * i}" font-size="11" text-anchor="end" '
                   f'fill="{colors[i % 4]}">{case} (dashed: testpmd {BASELINE})</text>')
    out.append(f'<text x="{w / 2}" y="{h - 15}" font-size="12" text-anchor="middle">distinct flows</text>')
    out.append(f'<text x="15" y="{h / 2}" font-size="12" transform="rotate(-90 15 {h / 2})" '
               f'text-anchor="middle">Mpps</text></svg>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    dpdk = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                          text=True).stdout.strip()
    def git(*a):
        return subprocess.run(["git", "-C", ROOT, *a], capture_output=True,
                              text=True).stdout.rstrip("\n")
    dirty = [l[3:] for l in git("status", "--porcelain", "--", "src").splitlines()]
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": os.uname().release, "dpdk": dpdk,
            "git_head": git("rev-parse", "--short", "HEAD"), "src_modified": dirty,
            "fairwayd_mtime": time.strftime("%Y-%m-%d %H:%M:%S",
                                            time.localtime(os.stat(FAIRWAYD).st_mtime)),
            "loadavg_at_end": open("/proc/loadavg").read().split()[:3]}


# ---------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(ALL_CASES))
    parser.add_argument("--flows", default=",".join(map(str, DEFAULT_FLOWS)))
    parser.add_argument("--seconds", type=int, default=2, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds after the first packet (and at least two passes) before measuring")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs of each program")
    parser.add_argument("--main-cpu", type=int, default=0, help="CPU of the main lcore (both)")
    parser.add_argument("--worker-cpu", type=int, default=1,
                        help="CPU of the worker / forwarding lcore (both)")
    parser.add_argument("--regime", default="auto", choices=("auto", "huge", "no-huge", "both"),
                        help="memory regime: 2 MB hugepages, 4 KB pages (--no-huge), both, or "
                             "huge when the machine can (default)")
    parser.add_argument("--table", default="both", choices=("sized", "default", "both"),
                        help="fairwayd's flow table: sized to the flows, its default capacity, "
                             "or both (default)")
    parser.add_argument("--baseline", default="macswap", choices=BASELINES,
                        help="testpmd's forwarding mode for the baseline (default macswap; 5tswap "
                             "and csum parse the L3/L4 headers as a load balancer must)")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--plot", help="write a plot of Mpps against flows here (.png or .svg)")
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in ALL_CASES:
            parser.error(f"unknown case {c}; known: {', '.join(ALL_CASES)}")
    flow_counts = [int(x) for x in args.flows.split(",") if x]
    global LCORES
    LCORES = f"0@{args.main_cpu},1@{args.worker_cpu}"
    if os.geteuid() != 0:
        parser.error("needs root (DPDK EAL)")
    for exe in (FAIRWAYD, TESTPMD):
        if not os.access(exe, os.X_OK):
            parser.error(f"not executable: {exe}")

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    global REGIME, BASELINE
    BASELINE = args.baseline
    table_modes = ("sized", "default") if args.table == "both" else (args.table,)
    hugepages = Hugepages()
    # Enough 2 MB pages for the largest single run (the programs run one at a time).
    pages_needed = eal_memory_mb(max(pool_size(n) for n in flow_counts), "huge") // 2 + 64
    if args.regime in ("huge", "both", "auto"):
        why_not = hugepages.reserve(pages_needed)
        if why_not and args.regime != "auto":
            hugepages.release()
            parser.error(f"hugepages: {why_not}")
        if why_not:
            log(f"hugepages: {why_not}; measuring with 4 KB pages (--no-huge) only")
            hugepages.release()
    regimes = {"huge": ["huge"], "no-huge": ["no-huge"], "both": ["huge", "no-huge"],
               "auto": ["no-huge"] if hugepages.original is None else ["huge"]}[args.regime]
    log(f"memory regime(s): {', '.join(regimes)}; fairwayd flow table: {', '.join(table_modes)}")

    started = time.monotonic()
    rows = []
    try:
        captures = {(c, n): capture(c, n) for c in cases for n in flow_counts}
        table_bytes, table_source = flow_table_bytes(
            sorted({flow_capacity(c, n, t) for c in cases for n in flow_counts for t in table_modes}))
        for regime in regimes:
            REGIME = regime
            runs = {key: ([], {t: [] for t in table_modes}) for key in captures}
            for rnd in range(args.rounds):
                for (case, flows), pcap in captures.items():
                    tp_runs, fw_runs = runs[(case, flows)]
                    tools = ["tp"] + [("fw", t) for t in table_modes]
                    for tool in (tools if rnd % 2 == 0 else tools[::-1]):
                        if tool == "tp":
                            r = run_testpmd(pcap, flows, args.seconds,
                                            warmup_blocks=max(1, math.ceil(args.warmup)))
                            tp_runs.append(r)
                            log(f"{regime} round {rnd + 1} {case:16} {flows:>8} testpmd          "
                                f"{r['mpps']:6.2f} Mpps cpu {_share(r['cpu_share'])}")
                            continue
                        t = tool[1]
                        r = run_fairwayd(case, pcap, flows, args.seconds, args.warmup, t)
                        fw_runs[t].append(r)
                        log(f"{regime} round {rnd + 1} {case:16} {flows:>8} fairwayd {t:7} "
                            f"{r['mpps']:6.2f} Mpps {r['cycles_per_packet']:5.0f} cyc/pkt "
                            f"new/pkt {r['new_flow_fraction']:.2f} evicted/pkt "
                            f"{r['evicted_fraction']:.2f} cpu {_share(r['cpu_share'])} "
                            f"drops {r['drops'] or 0}")
            for (case, flows) in captures:
                tp_runs, fw_runs = runs[(case, flows)]
                for t in table_modes:
                    rows.append(summarize(case, flows, tp_runs, fw_runs[t], table_bytes, regime, t))
    except KeyboardInterrupt:
        log("interrupted: stopping children")
        return 130
    finally:
        CHILDREN.cleanup()
        hugepages.release()

    report = {"machine": machine(), "command": " ".join([sys.executable] + sys.argv),
              "seconds": args.seconds, "rounds": args.rounds, "warmup": args.warmup,
              "syn_timeout": SYN_TIMEOUT, "lcores": LCORES, "flow_table_bytes_from": table_source,
              "regimes": regimes, "tables": list(table_modes), "baseline": BASELINE, "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if args.plot:
        plot(rows, args.plot)
    print(table(rows))
    print()
    print(f"medians of {args.rounds} interleaved runs of {args.seconds} s each; one worker; "
          f"64-byte frames; both programs: {' and '.join(regimes)} (huge: 2 MB hugepages; "
          f"no-huge: EAL --no-huge, 4 KB pages), {MBUF_DATA_ROOM}-byte mbuf data room, "
          f"pool = flows + 32767 mbufs, cache {MBUF_CACHE}, {DESCRIPTORS} descriptors, "
          f"lcores {LCORES}.")
    print(f"fairwayd, {BASELINE}: Mpps (fairwayd: tx_packets / wall time; testpmd "
          f"--forward-mode={BASELINE}: port 1 Tx-pps); "
          "cpu fw/tp: share of the measured window each busy-polling worker thread was on its CPU "
          "(/proc schedstat), below ~0.95 another process took the core (shared machine); "
          "fw/cpu, ms/cpu, ratio: the same per on-CPU second (Mpps / share, median of runs); "
          "cyc/pkt: fairwayd's busy_cycles / rx_packets x share (TSC cycles on the CPU per packet), "
          "(ms): the same for testpmd from TSC Hz / its per-CPU rate; "
          "table: fairwayd's flow_table.capacity, sized = max(1024, 2 x flows), default = "
          f"{DEFAULT_FLOW_CAPACITY} (fairwayd's default); "
          "B/flow: flow-table bytes / requested capacity, "
          f"bytes from {table_source}; tableMB: the table's size.")
    if "syn-new" in cases:
        print(f"syn-new: tcp_syn timeout {SYN_TIMEOUT} (the minimum), so a SYN creates a flow only "
              "when its previous pass's entry has expired, i.e. when one pass over the capture "
              "takes longer than 100 ms; new/pkt is the measured fraction of packets that created "
              "a flow (below 1 where a pass is shorter than the timeout: those SYNs hit a live "
              "syn_seen entry).")
    if "syn-flood" in cases:
        flood = [r for r in rows if r["case"] == "syn-flood"]
        print("syn-flood: SYNs over the capture's distinct tuples into fairwayd's default flow "
              f"table ({DEFAULT_FLOW_CAPACITY} flows) and default timeouts: the table is full and "
              "under pressure, every SYN misses and evicts the oldest half-open entry of its "
              "buckets; evicted/pkt, untracked/pkt: " +
              "; ".join(f"{r['flows']} tuples {r['evicted_fraction']:.2f}/{r['untracked_fraction']:.2f}"
                        for r in flood))
    print(f"total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
