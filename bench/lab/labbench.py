#!/usr/bin/python3
"""Helper of bench/lab/lab_bench.sh: one measured wrk run, and the report.

    labbench.py measure --ns NS --url URL --duration S --conns N [--close] --lb NAME --mode M
                        --round R --out results.jsonl [--pid PID] [--fwd-log LOG] [--lb-cpu 1]
    labbench.py report results.jsonl [--markdown OUT.md] [--command CMD]

`measure` snapshots the CPU counters (/proc/stat of every CPU, /proc/softirqs, the load balancer
process's utime+stime, fairwayd's worker counters through SIGUSR1), runs wrk in the client
namespace pinned to CPU 0 (bounded by a timeout), snapshots again and appends one JSON record.
`report` takes medians over the rounds and prints one table (and writes it as Markdown).
"""
import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
# /proc/stat cpu line fields
STAT_FIELDS = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"]


def read_proc_stat():
    cpus = {}
    with open("/proc/stat") as f:
        for line in f:
            if re.match(r"cpu\d+ ", line):
                parts = line.split()
                cpus[parts[0]] = dict(zip(STAT_FIELDS, map(int, parts[1:11])))
    return cpus


def read_softirqs():
    with open("/proc/softirqs") as f:
        lines = f.read().splitlines()
    cpus = lines[0].split()
    out = {}
    for line in lines[1:]:
        parts = line.split()
        if parts and parts[0].rstrip(":") in ("NET_RX", "NET_TX"):
            out[parts[0].rstrip(":")] = dict(zip([c.lower() for c in cpus], map(int, parts[1:])))
    return out


def read_proc_times(pid):
    """utime+stime of the whole process (all threads), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    # after "pid (comm) ": state is field 3 -> index 0; utime field 14 -> index 11, stime 15 -> 12
    return {"utime": int(fields[11]) / CLK_TCK, "stime": int(fields[12]) / CLK_TCK}


def foreign_cpu():
    """utime+stime (seconds) per pid of the processes outside this session (not the benchmark's):
    other work on the machine that competes for the CPUs. Kernel threads (session 0) are left out."""
    me = os.getsid(0)
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        sid = int(fields[3])
        if sid in (0, me):
            continue
        out[d] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def last_json_line(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def fairwayd_counters(pid, log, timeout=3.0):
    """SIGUSR1 makes fairwayd print its counters as one JSON line on stdout (its log)."""
    start = os.path.getsize(log)
    os.kill(pid, signal.SIGUSR1)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(log, errors="replace") as f:
            f.seek(start)
            obj = last_json_line(f.read())
        if obj is not None:
            c = obj.get("counters", {})
            return {k: c.get(k, 0) for k in ("busy_cycles", "busy_iterations", "rx_packets", "tx_packets")}
        time.sleep(0.05)
    raise RuntimeError("fairwayd (pid %d) printed no counters within %.0f s" % (pid, timeout))


def tsc_hz():
    """The TSC frequency: this VM reports tsc_known_freq, so cpuinfo's 'cpu MHz' is the TSC's."""
    with open("/proc/cpuinfo") as f:
        text = f.read()
    m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)
    return float(m.group(1)) * 1e6 if m else None


def snapshot(pid, fwd_log):
    snap = {"t": time.monotonic(), "stat": read_proc_stat(), "softirqs": read_softirqs(), "foreign": foreign_cpu()}
    if pid:
        snap["proc"] = read_proc_times(pid)
        if fwd_log:
            snap["fwd"] = fairwayd_counters(pid, fwd_log)
    return snap


def to_ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[unit]


def parse_wrk(text):
    out = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
    if m:
        out["requests"] = int(m.group(1))
        out["elapsed_s"] = to_ms(m.group(2), m.group(3)) / 1e3
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, text, re.M)
        if m:
            out["p" + pct + "_ms"] = to_ms(m.group(1), m.group(2))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(map(int, m.groups())) if m else 0
    if m:
        out["socket_errors_detail"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    return out


def cpu_delta(before, after, cpu):
    b, a = before["stat"][cpu], after["stat"][cpu]
    d = {k: (a[k] - b[k]) / CLK_TCK for k in STAT_FIELDS}
    d["busy"] = sum(d[k] for k in STAT_FIELDS if k not in ("idle", "iowait"))
    return d


def cmd_measure(args):
    wrk = ["ip", "netns", "exec", args.ns, "nice", "-n", str(args.nice), "taskset", "-c", str(args.client_cpu), "timeout", "-k", "5",
           str(args.duration + 15), "wrk", "-c", str(args.conns), "-t", "1", "-d", "%ds" % args.duration,
           "--timeout", "2s", "--latency"]
    if args.close:
        wrk += ["-H", "Connection: close"]
    wrk.append(args.url)
    before = snapshot(args.pid, args.fwd_log)
    r = subprocess.run(wrk, capture_output=True, text=True, timeout=args.duration + 30, stdin=subprocess.DEVNULL)
    after = snapshot(args.pid, args.fwd_log)
    rec = {"lb": args.lb, "mode": args.mode, "load": "close" if args.close else "keepalive", "round": args.round,
           "url": args.url, "duration": args.duration, "conns": args.conns, "wrk_rc": r.returncode,
           "wrk_cmd": " ".join(wrk[wrk.index("wrk"):]).replace("Connection: close", "'Connection: close'")}
    rec.update(parse_wrk(r.stdout))
    wall = after["t"] - before["t"]
    rec["wall_s"] = wall
    lbcpu = "cpu%d" % args.lb_cpu
    rec["lb_cpu_stat"] = cpu_delta(before, after, lbcpu)
    rec["other_cpu_stat"] = cpu_delta(before, after, "cpu%d" % args.client_cpu)
    # CPU used by other work meanwhile (processes alive at both ends of the run; approximate)
    rec["foreign_cpu_s"] = sum(max(0.0, v - before["foreign"][k]) for k, v in after["foreign"].items()
                               if k in before["foreign"])
    rec["lb_cpu_net_rx"] = after["softirqs"]["NET_RX"][lbcpu] - before["softirqs"]["NET_RX"][lbcpu]
    if args.pid and before.get("proc") and after.get("proc"):
        rec["proc_cpu_s"] = (after["proc"]["utime"] + after["proc"]["stime"]) - (before["proc"]["utime"] + before["proc"]["stime"])
    if args.fwd_log:
        hz = tsc_hz()
        rec["tsc_hz"] = hz
        for k in ("busy_cycles", "busy_iterations", "rx_packets", "tx_packets"):
            rec["fwd_" + k] = after["fwd"][k] - before["fwd"][k]
    with open(args.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    with open(args.out + ".wrk.txt", "a") as f:
        f.write("### %s %s %s round %s (rc %d)\n%s\n%s\n" % (args.lb, args.mode, rec["load"], args.round,
                                                             r.returncode, r.stdout, r.stderr))
    ok = r.returncode == 0 and rec.get("requests", 0) > 0
    summary = "%-9s %-9s %-9s round %s: %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d non2xx %d" % (
        args.lb, args.mode, rec["load"], args.round, rec.get("rps", 0), rec.get("p50_ms", 0), rec.get("p99_ms", 0),
        rec["socket_errors"], rec["non2xx"])
    print(summary, file=sys.stderr)
    if not ok:
        print("wrk failed (rc %d): %s" % (r.returncode, r.stderr.strip()[-500:]), file=sys.stderr)
    return 0


# ---- report -----------------------------------------------------------------------------------

ROWS = [  # (lb, mode, label, counts as "other")
    ("fairwayd", "dsr", "Fairway dsr (198.18.100.1)", False),
    ("fairwayd", "nat", "Fairway nat (198.18.100.2)", False),
    ("nftables", "dnat", "nftables DNAT, kube-proxy style", True),
    ("haproxy", "tcp", "HAProxy 2.6 mode tcp, 1 thread", True),
    ("nginx", "stream", "nginx 1.22 stream, 1 worker", True),
    ("kernel", "ecmp", "kernel ECMP route (L4 hash; not in 'best other')", False),
]


def lb_cpu_per_request(rec):
    """(microseconds of load-balancer CPU per request, how it was measured, busy fraction of the LB CPU)."""
    req = rec.get("requests") or 0
    if req == 0:
        return None, "", None
    wall = rec["wall_s"]
    if rec["lb"] == "fairwayd":
        # busy_cycles are TSC cycles of the iterations that received packets, wall-clock time that
        # also counts the moments the worker was descheduled (other work on the machine). Scale
        # the CPU time the process really got by the busy share of the wall time.
        busy_share = rec["fwd_busy_cycles"] / rec["tsc_hz"] / wall
        return busy_share * rec["proc_cpu_s"] / req * 1e6, "busy share x worker CPU", busy_share
    if rec["lb"] in ("haproxy", "nginx"):
        return rec["proc_cpu_s"] / req * 1e6, "process utime+stime", rec["proc_cpu_s"] / wall
    soft = rec["lb_cpu_stat"]["softirq"]
    return soft / req * 1e6, "CPU 1 softirq", soft / wall


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, f="%.0f"):
    return "-" if v is None else f % v


def machine():
    with open("/proc/cpuinfo") as f:
        model = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M).group(1)
    with open("/proc/meminfo") as f:
        mem = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1)) // (1024 * 1024)
    return "%s, %d CPUs, %d GiB, Linux %s (%s)" % (model, os.cpu_count(), mem, platform.release(),
                                                   platform.machine())


def cmd_report(args):
    recs = [json.loads(line) for line in open(args.results) if line.strip()]
    meta = {}
    if os.path.exists(args.results + ".meta.json"):
        meta = json.load(open(args.results + ".meta.json"))
    rounds = sorted({r["round"] for r in recs})
    table = {}
    for lb, mode, label, other in ROWS:
        for load in ("keepalive", "close"):
            rs = [r for r in recs if r["lb"] == lb and r["mode"] == mode and r["load"] == load]
            if not rs:
                continue
            cpu = [lb_cpu_per_request(r) for r in rs]
            table[(lb, mode, load)] = {
                "label": label, "other": other, "n": len(rs),
                "rps": med([r.get("rps") for r in rs]),
                "rps_all": [r.get("rps") for r in rs],
                "p50": med([r.get("p50_ms") for r in rs]),
                "p99": med([r.get("p99_ms") for r in rs]),
                "cpu_us": med([c[0] for c in cpu]), "cpu_how": cpu[0][1],
                "busy": med([c[2] for c in cpu]),
                "errors": sum(r.get("socket_errors", 0) + r.get("non2xx", 0) for r in rs),
                "cpu1": med([r["lb_cpu_stat"]["busy"] / r["wall_s"] for r in rs]),
                "cpu0": med([r["other_cpu_stat"]["busy"] / r["wall_s"] for r in rs]),
                "foreign": med([r.get("foreign_cpu_s", 0) / r["wall_s"] for r in rs]),
                "pkts_per_req": med([r["fwd_rx_packets"] / r["requests"] for r in rs if r["lb"] == "fairwayd"
                                     and r.get("requests")]),
                "cycles_per_req": med([r["fwd_busy_cycles"] / r["requests"] for r in rs if r["lb"] == "fairwayd"
                                       and r.get("requests")]),
                "cycles_per_iter": med([r["fwd_busy_cycles"] / r["fwd_busy_iterations"] for r in rs
                                        if r["lb"] == "fairwayd" and r.get("fwd_busy_iterations")]),
                "pkts_per_iter": med([r["fwd_rx_packets"] / r["fwd_busy_iterations"] for r in rs
                                      if r["lb"] == "fairwayd" and r.get("fwd_busy_iterations")]),
            }
    lines = []
    dur = recs[0]["duration"] if recs else 0
    conns = recs[0]["conns"] if recs else 0
    lines.append("Medians of %d interleaved rounds, wrk -c %d -t 1 -d %ds per run (CPU 0: wrk and the 3 "
                 "nginx back-ends; CPU 1: the load balancer; the benchmark's processes at autogroup nice %s)."
                 % (len(rounds), conns, dur, meta.get("nice", "?")))
    lines.append("")
    for load, title in (("keepalive", "keep-alive"), ("close", "one connection per request (Connection: close)")):
        lines.append("**%s**" % title)
        lines.append("")
        lines.append("| load balancer | req/s | p50 ms | p99 ms | LB CPU µs/req | LB CPU busy | CPU 1 / CPU 0 busy (all work) | "
                     "other work | errors | req/s per round |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for lb, mode, label, other in ROWS:
            t = table.get((lb, mode, load))
            if not t:
                continue
            lines.append("| %s | %s | %s | %s | %s (%s) | %s | %s / %s | %s | %d | %s |" % (
                label, fmt(t["rps"]), fmt(t["p50"], "%.2f"), fmt(t["p99"], "%.2f"), fmt(t["cpu_us"], "%.1f"),
                t["cpu_how"], fmt(None if t["busy"] is None else 100 * t["busy"], "%.0f%%"),
                fmt(None if t["cpu1"] is None else 100 * t["cpu1"], "%.0f%%"),
                fmt(None if t["cpu0"] is None else 100 * t["cpu0"], "%.0f%%"),
                fmt(None if t["foreign"] is None else 100 * t["foreign"], "%.0f%%"), t["errors"],
                " ".join(fmt(v) for v in t["rps_all"])))
        others = [t for (lb, mode, ld), t in table.items() if ld == load and t["other"] and t["rps"]]
        if others:
            best_rps = max(others, key=lambda t: t["rps"])
            best_p99 = min(others, key=lambda t: t["p99"])
            for mode in ("dsr", "nat"):
                f = table.get(("fairwayd", mode, load))
                if not f or not f["rps"]:
                    continue
                lines.append("")
                lines.append("- Fairway %s / best other: req/s **%.2f×** (vs %s, %.0f), p99 **%.2f×** (vs %s, %.2f ms; "
                             "below 1 is better)" % (mode, f["rps"] / best_rps["rps"], best_rps["label"], best_rps["rps"],
                                                     f["p99"] / best_p99["p99"], best_p99["label"], best_p99["p99"]))
        lines.append("")
    fw = [t for (lb, mode, ld), t in table.items() if lb == "fairwayd" and t["pkts_per_req"]]
    if fw:
        lines.append("Fairway worker (medians; busy cycles are wall-clock TSC cycles of the iterations that "
                     "received packets, preemption included):")
        lines.append("")
        lines.append("| mode | load | packets/request | busy cycles/request | busy cycles/busy iteration | "
                     "packets/busy iteration |")
        lines.append("|---|---|---:|---:|---:|---:|")
        for k, t in table.items():
            if k[0] == "fairwayd" and t["pkts_per_req"]:
                lines.append("| %s | %s | %.1f | %.0f | %.0f | %.2f |" % (k[1], k[2], t["pkts_per_req"],
                             t["cycles_per_req"], t["cycles_per_iter"], t["pkts_per_iter"]))
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        head = ["Command: `%s`" % (args.command or meta.get("command", "bench/lab/lab_bench.sh")), "",
                "Machine: %s. %s" % (machine(), meta.get("versions", "")), ""]
        if meta.get("loadavg"):
            head += ["Load average before / after the run: %s / %s (other work on the machine disturbs "
                     "the figures; the rounds are interleaved so that drift hits every load balancer alike)."
                     % (meta.get("loadavg"), meta.get("loadavg_end", "?")), ""]
        with open(args.markdown, "w") as f:
            f.write("\n".join(head) + text + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--ns", required=True)
    m.add_argument("--url", required=True)
    m.add_argument("--duration", type=int, default=8)
    m.add_argument("--conns", type=int, default=32)
    m.add_argument("--close", action="store_true")
    m.add_argument("--lb", required=True)
    m.add_argument("--mode", required=True)
    m.add_argument("--round", type=int, default=1)
    m.add_argument("--out", required=True)
    m.add_argument("--pid", type=int, default=0)
    m.add_argument("--fwd-log")
    m.add_argument("--lb-cpu", type=int, default=1)
    m.add_argument("--client-cpu", type=int, default=0)
    m.add_argument("--nice", type=int, default=0)
    r = sub.add_parser("report")
    r.add_argument("results")
    r.add_argument("--markdown")
    r.add_argument("--command")
    args = ap.parse_args()
    return cmd_measure(args) if args.cmd == "measure" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
