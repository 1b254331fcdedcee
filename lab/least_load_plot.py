#!/usr/bin/env python3
"""Runs the least-load scenario on the namespace lab and plots it (PNG) for docs/DISTRIBUTION.md.

    sudo /usr/bin/python3 lab/least_load_plot.py [--out docs/img/least-load-lab.png]
                                                 [--baseline 20 --burner 40 --after 60]

Three back-ends in CPU cgroups of 0.3 CPU each, fairway-agent on each, `scheduler: least-load` on
web-nat (equal admin weights), a client churning connections, a CPU burner in be2's cgroup for the
middle phase (tests/lab/least_load_scenario.py). Writes the per-second samples as JSON next to the
PNG and prints each phase's shares of new connections. Everything is torn down at the end.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))

from labnet import Lab  # noqa: E402
from least_load_scenario import (CpuGroups, least_load_config, mean_cpu, run,  # noqa: E402
                                 shares)

COLORS = {"be1": "tab:blue", "be2": "tab:red", "be3": "tab:green"}


def smoothed_shares(samples, window=3):
    """Per sample, each back-end's share of the new connections of the last `window` seconds."""
    out = []
    for i in range(len(samples)):
        chosen = samples[max(0, i - window + 1):i + 1]
        totals = {b: sum(s["backends"][b]["new_flows"] for s in chosen) for b in COLORS}
        n = sum(totals.values()) or 1
        out.append({b: totals[b] / n for b in COLORS})
    return out


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    samples = result["samples"]
    t = [s["t"] for s in samples]
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(9, 8.5), sharex=True)
    share = smoothed_shares(samples)
    for b, color in COLORS.items():
        ax1.plot(t, [x[b] * 100 for x in share], color=color, label=b)
        ax2.plot(t, [s["backends"][b]["cpu"] if s["backends"][b]["cpu"] is not None else float("nan")
                     for s in samples], color=color, label=b)
        ax3.plot(t, [s["backends"][b]["factor"] if s["backends"][b]["factor"] is not None else 1.0
                     for s in samples], color=color, label=b)
    for name, start, end in result["phases"]:
        for ax in (ax1, ax2, ax3):
            if name == "burner":
                ax.axvspan(start, end, color="0.85", zorder=0)
        ax1.text((start + end) / 2, 97, name, ha="center", va="top", fontsize=9)
    ax1.set_ylabel("share of new\nconnections (%, 3 s)")
    ax1.set_ylim(0, 100)
    ax2.set_ylabel("reported CPU\n(% of its 0.3-CPU quota)")
    ax2.set_ylim(0, 105)
    ax3.set_ylabel("least-load factor\n(x admin weight)")
    ax3.set_yscale("log")
    ax3.set_xlabel("seconds (grey: CPU burner in be2's cgroup)")
    ax1.legend(loc="lower left", ncol=3, fontsize=9)
    churn = result["churn"]
    fig.suptitle("least-load in the lab: %d connections, %d failed, %d changed back-end"
                 % (churn["connections"], churn["failed"], churn["switched"]), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "least-load-lab.png"))
    ap.add_argument("--agent", default=os.path.join(ROOT, "build", "fairway-agent"))
    ap.add_argument("--baseline", type=int, default=20)
    ap.add_argument("--burner", type=int, default=40)
    ap.add_argument("--after", type=int, default=60)
    ap.add_argument("--replot", metavar="JSON", help="only draw the PNG again from a run's JSON")
    a = ap.parse_args()
    if a.replot:
        with open(a.replot) as f:
            plot(json.load(f), a.out)
        print("wrote", a.out)
        return 0
    for n in (a.baseline, a.burner, a.after):
        if not 5 <= n <= 600:
            ap.error("phases last 5..600 s")
    phases = (("baseline", a.baseline), ("burner", a.burner), ("after", a.after))
    lab = Lab(config_edit=least_load_config)
    try:
        with lab:
            result = run(lab, a.agent, phases)
    finally:
        CpuGroups(lab.prefix).remove_all()
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(result, f, indent=1)
    plot(result, a.out)
    for name, _ in phases:
        print("%-8s last 10 s: shares %s, CPU %s" % (name, shares(result["samples"], name, 10),
                                                     mean_cpu(result["samples"], name, 10)))
    print("wrote", a.out)


if __name__ == "__main__":
    sys.exit(main())
