#!/usr/bin/env python3
"""What reassembly costs a worker: fragmented UDP datagrams to a dsr service, replayed without
end by net_pcap (infinite_rx) into fairwayd with one worker, the split fragments sent to net_null;
against testpmd macswap on the same capture in the same invocation (the baseline: the I/O of the
same frames, no work), and fairwayd on the same datagrams unfragmented (what the datagrams cost
whole). Same pool, descriptors, burst and CPUs as bench/pipeline_bench.py, whose helpers it uses.

    sudo /usr/bin/python3 bench/fragment_bench.py [--datagrams 1000] [--size 3000]
        [--seconds 3] [--rounds 3] [--regime auto|huge|no-huge]

Prints, per round, packets per second in and out and cycles per received frame, then the
medians. Figures go to docs/FRAGMENTS.md with this command.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipeline_bench as pb  # noqa: E402


def capture(datagrams: int, size: int, fragmented: bool) -> tuple[str, int]:
    """A capture of `datagrams` UDP datagrams of `size` payload bytes, each its own 5-tuple and
    IP identification, in fragments of 1 480 bytes (or whole, as one jumbo-free frame when it
    fits 1 500 bytes; bigger ones are not sent whole: the pool's 2 KB mbufs could not hold them)."""
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import IP, UDP, Ether, Raw, fragment, wrpcap
    os.makedirs(pb.CACHE_DIR, exist_ok=True)
    kind = "frag" if fragmented else "whole"
    path = os.path.join(pb.CACHE_DIR, f"fragments-{kind}-{datagrams}-{size}.pcap")
    frames = []
    for i in range(datagrams):
        src = "100.64.%d.%d" % (i >> 8 & 255, i & 255)
        pkt = IP(src=src, dst=pb.VIP_DSR, id=1 + i % 65000, ttl=64) / \
            UDP(sport=1024 + i % 60000, dport=53) / Raw(bytes(size))
        pieces = fragment(IP(bytes(pkt)), fragsize=1480) if fragmented else [pkt]
        frames += [Ether(src=pb.CLIENT_MAC, dst=pb.CLIENT_PORT_MAC) / p for p in pieces]
    if not os.path.exists(path):
        wrpcap(path, frames)
    return path, len(frames)


def config(pcap: str, frames: int, prefix: str) -> dict:
    mbufs = pb.pool_size(frames)
    return {
        "workers": 1, "mbufs": mbufs,
        # fairwayd adds fragments.max_fragments (4 096) mbufs per worker for reassembly.
        "eal": {"lcores": pb.LCORES,
                "args": [*pb.eal_memory_args(mbufs + 4096), "--file-prefix", prefix,
                         "--log-level", "*:warning"]},
        "flow_table": {"capacity": 65536},
        "ports": [
            {"name": "client", "device": f"net_pcap0,rx_pcap={pcap},infinite_rx=1",
             "mac": pb.CLIENT_PORT_MAC, "addresses": ["198.18.0.1/24"], "exception_path": False},
            {"name": "server", "device": "net_null0,no-rx=1", "mac": pb.SERVER_PORT_MAC,
             "addresses": ["198.18.1.1/24"], "exception_path": False},
        ],
        "neighbors": [{"address": a, "mac": m, "port": "server"} for a, m in pb.BACKENDS],
        "routes": [],
        "services": [{"name": "dns", "vip": pb.VIP_DSR, "port": 53, "protocol": "udp",
                      "mode": "dsr", "backends": [{"address": a} for a, _ in pb.BACKENDS]}],
    }


def run_fairwayd(pcap: str, frames: int, seconds: float) -> dict:
    prefix = pb._unique_prefix("fwfrag")
    workdir = pb.CHILDREN.tempdir("fwbench-frag-")
    cfg = config(pcap, frames, prefix)
    cfg_path = os.path.join(workdir, "fairwayd.yaml")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=1)
    daemon = None
    try:
        daemon = pb.Daemon([pb.FAIRWAYD, "-c", cfg_path], os.path.join(workdir, "stderr"))
        daemon.wait_running(timeout=120)
        time.sleep(1.5)  # warm-up: every flow made
        t0, s0 = daemon.sample()
        time.sleep(seconds)
        t1, s1 = daemon.sample()
        daemon.stop()
        daemon = None
        d = pb._delta(s0["counters"], s1["counters"])
        dt = t1 - t0
        rx = max(d["rx_packets"], 1)
        return {"rx_mpps": d["rx_packets"] / dt / 1e6, "tx_mpps": d["tx_packets"] / dt / 1e6,
                "datagrams_per_s": d.get("datagrams_reassembled", 0) / dt,
                "cycles_per_frame": d["busy_cycles"] / rx, "drops": d["drops"]}
    finally:
        if daemon is not None:
            daemon.stop()
        pb.CHILDREN.remove(workdir)
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datagrams", type=int, default=1000)
    ap.add_argument("--size", type=int, default=3000)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--regime", choices=("auto", "huge", "no-huge"), default="auto")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (DPDK EAL)", file=sys.stderr)
        return 2
    hugepages = pb.Hugepages()
    try:
        pb.REGIME = "no-huge"
        if args.regime != "no-huge":
            pages = pb.eal_memory_mb(pb.pool_size(args.datagrams * 8) + 4096, "huge") // 2 + 64
            why = hugepages.reserve(pages)
            if why is None:
                pb.REGIME, pb.HUGE_DIR = "huge", hugepages.mount_point()
            elif args.regime == "huge":
                print("no hugepages: " + why, file=sys.stderr)
                return 2
        print(f"regime: {pb.REGIME}; {args.datagrams} datagrams of {args.size} bytes")
        frag, frag_frames = capture(args.datagrams, args.size, True)
        whole, whole_frames = capture(args.datagrams, min(args.size, 1472), False)
        rows = []
        for r in range(args.rounds):
            tp = pb.run_testpmd(frag, frag_frames, args.seconds, 2)
            fw = run_fairwayd(frag, frag_frames, args.seconds)
            fw_whole = run_fairwayd(whole, whole_frames, args.seconds)
            rows.append((tp["mpps"], fw, fw_whole))
            print(f"round {r + 1}: macswap {tp['mpps']:.2f} Mpps; fairwayd fragments in "
                  f"{fw['rx_mpps']:.2f} Mpps out {fw['tx_mpps']:.2f} Mpps "
                  f"({fw['datagrams_per_s'] / 1e3:.0f} k datagrams/s, "
                  f"{fw['cycles_per_frame']:.0f} cycles/frame, drops {fw['drops']}); "
                  f"whole {min(args.size, 1472)}-byte datagrams {fw_whole['rx_mpps']:.2f} Mpps "
                  f"({fw_whole['cycles_per_frame']:.0f} cycles/frame)")
        med = statistics.median
        tp_m = med(r[0] for r in rows)
        fw_m = med(r[1]["rx_mpps"] for r in rows)
        print(f"median: macswap {tp_m:.2f} Mpps, fairwayd fragments {fw_m:.2f} Mpps "
              f"(ratio {fw_m / tp_m:.2f}), {med(r[1]['datagrams_per_s'] for r in rows) / 1e3:.0f} k "
              f"datagrams/s, {med(r[1]['cycles_per_frame'] for r in rows):.0f} cycles per fragment; "
              f"whole datagrams {med(r[2]['rx_mpps'] for r in rows):.2f} Mpps, "
              f"{med(r[2]['cycles_per_frame'] for r in rows):.0f} cycles each")
        return 0
    finally:
        pb.CHILDREN.cleanup()
        hugepages.release()


if __name__ == "__main__":
    sys.exit(main())
