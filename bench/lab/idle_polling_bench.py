#!/usr/bin/env python3
"""What workers_poll: adaptive costs and saves, busy and adaptive in the same invocation, on the
namespace lab (one worker, AF_XDP on veth):

- fairwayd's CPU use while idle (3 s, from /proc: user + system time over wall time);
- ping round trips to the VIP (answered by the data plane) one every 200 ms, so that each one
  finds an adaptive worker asleep, and one every 5 ms, so that none does;
- one-request HTTP connections to the dsr VIP, 20 a second for 10 s (client.py steady: at that
  pace an adaptive worker sleeps between most of them): connect+request milliseconds, median
  and 99th percentile.

    sudo /usr/bin/python3 bench/lab/idle_polling_bench.py
"""
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "lab"))
import labnet  # noqa: E402


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ping_avg_ms(lab, count, interval):
    out = lab.run("cli", "ping", "-c", str(count), "-i", str(interval), "-q", labnet.VIP4_DSR,
                  timeout=60).stdout
    m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", out)
    return float(m.group(2)) if m else float("nan")


def measure(mode):
    def edit(config):
        config["workers_poll"] = mode
    with labnet.Lab(config_edit=edit) as lab:
        lab.client("http", labnet.VIP4_DSR, 80, "-n", 50)  # warm: neighbors, caches
        time.sleep(1)
        pid = lab.fwd.pid
        c0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(3)
        idle_cpu = (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
        sparse = ping_avg_ms(lab, 25, 0.2)
        dense = ping_avg_ms(lab, 200, 0.005)
        r = lab.client("steady", labnet.VIP4_DSR, 80, "--hold", 0, "--rate", 20, "--threads", 1,
                       "--seconds", 10, timeout=60)
        ms = sorted(rec[1] for rec in r["records"] if rec[2] is None)
        sleeps = lab.stop_fairwayd()["counters"]["idle_sleeps"]
    return {"idle_cpu": idle_cpu, "ping_sparse": sparse, "ping_dense": dense, "http_ok": r["ok"],
            "http_p50": statistics.median(ms) if ms else float("nan"),
            "http_p99": ms[int(len(ms) * 0.99) - 1] if ms else float("nan"), "sleeps": sleeps}


def main():
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces, DPDK)")
    rows = {mode: measure(mode) for mode in ("busy", "adaptive")}
    b, a = rows["busy"], rows["adaptive"]
    print("| figure | busy | adaptive | adaptive / busy |")
    print("|---|---:|---:|---:|")
    for key, label in (("idle_cpu", "fairwayd CPUs used while idle"),
                       ("ping_sparse", "ping RTT, one every 200 ms (ms)"),
                       ("ping_dense", "ping RTT, one every 5 ms (ms)"),
                       ("http_p50", "HTTP connect+request, median (ms)"),
                       ("http_p99", "HTTP connect+request, p99 (ms)")):
        ratio = a[key] / b[key] if b[key] else float("nan")
        print("| %s | %.3f | %.3f | %.2f |" % (label, b[key], a[key], ratio))
    print("| worker sleeps | %d | %d | |" % (b["sleeps"], a["sleeps"]))
    print("| HTTP connections answered | %d | %d | |" % (b["http_ok"], a["http_ok"]))


if __name__ == "__main__":
    main()
