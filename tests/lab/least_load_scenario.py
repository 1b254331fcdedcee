"""The least-load scenario on the namespace lab, shared by its test and its plot.

Three back-ends, each in a CPU cgroup limited to the same share of a CPU (like containers with a
CPU limit), each running fairway-agent, which reports its cgroup's CPU utilization to fairwayd
through the data plane (control API on 198.18.1.1:9180 via the exception path). The nat service
runs `scheduler: least-load` with equal admin weights. A client keeps opening and using
connections without pause (a steady rate: the kernel's TIME_WAIT ports bound a faster client), and
each request costs its server 1.5 ms of CPU, so that CPU use follows the requests a back-end gets
(in a shared-kernel lab much of the network work is charged to whichever task runs). Phases:
baseline, then a CPU burner inside be2's cgroup, then none.

    with Lab(config_edit=least_load_config) as lab:
        series = run(lab, agent_binary, phases=(("baseline", 15), ("burner", 30), ("after", 30)))

Every second one sample: per back-end, the new connections it got (from fairwayd's per-back-end
counters), its reported CPU, the distributor's factor and effective weight. Cgroups are made under
/sys/fs/cgroup (v1 cpu + cpuacct, or v2) with the lab's prefix and removed at the end.
"""
import json
import os
import subprocess
import time

from labnet import CLIENT, PY, VIP4_NAT

KEY = "lab-key-" + "5f3c1e0b9a7d4c2e8f6a1b3d5c7e9f0a"
CPU_QUOTA = 0.3  # of one CPU, per back-end
WORK_MS = 1.5    # CPU per request, so that a server's CPU follows the requests it serves
SHORT_RATE = 150  # one-request connections per second (plus two keep-alive clients)
BACKENDS = {"be1": "198.18.1.11", "be2": "198.18.1.12", "be3": "198.18.1.13"}
CPU_V1, CPUACCT_V1 = "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct"


def least_load_config(config):
    config["control"] = {"listen": "0.0.0.0:9180"}  # the agents reach it on 198.18.1.1
    config["load_feedback"] = {"key": KEY, "report_interval": "1s", "stale_after": 3}
    for service in config["services"]:
        if service["name"] == "web-nat":
            service["scheduler"] = "least-load"
            service["least_load"] = {"metric": "cpu"}
            for backend in service["backends"]:
                backend["weight"] = 1


class CpuGroups:
    """One CPU-limited cgroup per back-end (v1 cpu+cpuacct here; v2 where that is what exists)."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.v1 = os.path.isdir(os.path.join(CPU_V1)) and os.path.isdir(CPUACCT_V1)
        self.dirs = {}

    def paths(self, backend):
        name = "%s-%s" % (self.prefix, backend)
        if self.v1:
            return [os.path.join(CPU_V1, name), os.path.join(CPUACCT_V1, name)]
        return [os.path.join("/sys/fs/cgroup", name)]

    def create(self, backend):
        for d in self.paths(backend):
            os.makedirs(d, exist_ok=True)
        period = 100000
        if self.v1:
            cpu = self.paths(backend)[0]
            with open(os.path.join(cpu, "cpu.cfs_period_us"), "w") as f:
                f.write(str(period))
            with open(os.path.join(cpu, "cpu.cfs_quota_us"), "w") as f:
                f.write(str(int(period * CPU_QUOTA)))
        else:
            with open(os.path.join(self.paths(backend)[0], "cpu.max"), "w") as f:
                f.write("%d %d" % (int(period * CPU_QUOTA), period))

    def agent_cgroup(self, backend):
        """The directory fairway-agent measures (--cgroup)."""
        return self.paths(backend)[-1]

    def enter_command(self, backend):
        """Shell words that move the shell itself into the back-end's cgroups."""
        return " && ".join("echo $$ > %s/cgroup.procs" % d for d in self.paths(backend))

    def add(self, backend, pid):
        for d in self.paths(backend):
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def remove_all(self):
        for backend in BACKENDS:
            for d in self.paths(backend):
                for _ in range(50):
                    try:
                        os.rmdir(d)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:  # processes still leaving
                        time.sleep(0.1)


def backends_state(lab):
    status, services = lab.api("GET", "/api/v1/services")
    assert status == 200, services
    web = {s["name"]: s for s in services}["web-nat"]
    out = {}
    for b in web["backends"]:
        name = "be%d" % (int(b["backend"].split(":")[0].rsplit(".", 1)[1]) - 10)
        out[name] = {"flows_created": b["flows_created"],
                     "effective_weight": b["effective_weight"],
                     "factor": b.get("load", {}).get("factor"),
                     "cpu": b.get("report", {}).get("cpu_percent"),
                     "reason": b.get("load", {}).get("reason", "")}
    return out


def run(lab, agent_binary, phases, log=print):
    """Runs the phases; returns {"samples": [...], "phases": [(name, start_s, end_s)], "churn": {...}}."""
    groups = CpuGroups(lab.prefix)
    key_file = os.path.join(lab.logdir, "agent.key")
    with open(os.open(key_file, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "w") as f:
        f.write(KEY + "\n")
    procs = []
    try:
        for backend, address in BACKENDS.items():
            groups.create(backend)
            # the HTTP server again, with per-request CPU work, inside the back-end's cgroup
            lab.stop_http_server(backend)
            lab.start_http_server(backend, "--work-ms", str(WORK_MS))
            lab.wait_http_server(backend)
            for pid in lab.server_pids(backend):
                groups.add(backend, pid)
            log_file = open(os.path.join(lab.logdir, "%s-agent.log" % backend), "wb")
            # nsenter --net rather than `ip netns exec`: the latter mounts a fresh /sys, without
            # the cgroup hierarchy the agent reads.
            procs.append(subprocess.Popen(
                ["nsenter", "--net=/run/netns/" + lab.ns(backend), agent_binary, "--address", address,
                 "--name", backend, "--key-file", key_file, "--server", "198.18.1.1:9180",
                 "--interval", "1s", "--port", "8080", "--cgroup", groups.agent_cgroup(backend),
                 "--cpus", str(CPU_QUOTA)],
                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
            log_file.close()
        total = sum(seconds for _, seconds in phases) + 5
        stop_file = os.path.join(lab.logdir, "stop-churn")
        churn = subprocess.Popen(["ip", "netns", "exec", lab.ns("cli"), PY, CLIENT, "churn", VIP4_NAT,
                                  "80", "--seconds", str(total + 30), "--long", "2",
                                  "--short-rate", str(SHORT_RATE),
                                  "--stop-file", stop_file],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL)
        procs.append(churn)
        # every agent's first report in, before the clock starts
        deadline = time.monotonic() + 20
        while True:
            agents = lab.api("GET", "/api/v1/agents")[1]
            fresh = [a for a in agents["agents"] if not a["stale"]]
            if len(fresh) == len(BACKENDS):
                break
            assert time.monotonic() < deadline, "agents did not report: %s" % agents
            time.sleep(0.5)
        samples, spans = [], []
        start = time.monotonic()
        previous = backends_state(lab)
        for name, seconds in phases:
            burner = None
            if name == "burner":
                burner = subprocess.Popen(
                    ["nsenter", "--net=/run/netns/" + lab.ns("be2"), "sh", "-c",
                     groups.enter_command("be2") + " && exec timeout %d sh -c 'while :; do :; done'"
                     % (seconds + 5)],
                    stdin=subprocess.DEVNULL)
                procs.append(burner)
            phase_start = time.monotonic() - start
            phase_end = time.monotonic() + seconds
            while time.monotonic() < phase_end:
                time.sleep(1)
                state = backends_state(lab)
                sample = {"t": round(time.monotonic() - start, 2), "phase": name, "backends": {}}
                new = {b: state[b]["flows_created"] - previous[b]["flows_created"] for b in state}
                for b in state:
                    sample["backends"][b] = dict(state[b], new_flows=new[b])
                samples.append(sample)
                previous = state
            if burner is not None:
                burner.terminate()
                burner.wait(10)
            spans.append((name, round(phase_start, 2), round(time.monotonic() - start, 2)))
            log("phase %s done: %s" % (name, json.dumps(shares(samples, name, 10))))
        open(stop_file, "w").close()
        out, err = churn.communicate(timeout=60)
        assert churn.returncode == 0, err
        return {"samples": samples, "phases": spans, "churn": json.loads(out),
                "cpu_quota": CPU_QUOTA}
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        # the servers stay in the cgroups until the lab is torn down; the caller removes them after


def shares(samples, phase, last_seconds):
    """Each back-end's share of new connections over the last `last_seconds` samples of a phase."""
    chosen = [s for s in samples if s["phase"] == phase][-last_seconds:]
    totals = {}
    for s in chosen:
        for b, v in s["backends"].items():
            totals[b] = totals.get(b, 0) + v["new_flows"]
    n = sum(totals.values()) or 1
    return {b: round(c / n, 3) for b, c in sorted(totals.items())}


def mean_cpu(samples, phase, last_seconds):
    chosen = [s for s in samples if s["phase"] == phase][-last_seconds:]
    out = {}
    for b in BACKENDS:
        values = [s["backends"][b]["cpu"] for s in chosen if s["backends"][b]["cpu"] is not None]
        out[b] = round(sum(values) / len(values), 1) if values else None
    return out
