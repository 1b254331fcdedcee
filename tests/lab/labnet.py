"""Python face of the namespace lab (lab/lib.sh through lab/labctl.sh), for pytest and scripts.

    with Lab(lb="fairwayd", fairwayd="build/fairwayd") as lab:   # or lb="nftables" (stand-in)
        lab.client("http", "198.18.100.1", "80", "-n", "300")    # -> dict (lab/client.py's JSON)
        lab.ping("198.18.0.1")
    # torn down here, also on exceptions, SIGTERM and interpreter exit

The lab follows the lab rules of docs/DESIGN.md: its own namespaces with a per-run prefix, only
198.18.0.0/15 and 2001:2::/48, every command bounded by a timeout.
"""
import atexit
import json
import os
import random
import shutil
import signal
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_DIR = os.path.join(REPO, "lab")
LABCTL = os.path.join(LAB_DIR, "labctl.sh")

import sys  # noqa: E402
sys.path.insert(0, LAB_DIR)
from stats_json import last_json_object  # noqa: E402,F401  (fairwayd's counters)
CLIENT = os.path.join(LAB_DIR, "client.py")
PY = "/usr/bin/python3"  # Debian's, not a pyenv one: same interpreter in every namespace

# Addresses (mirror lab/lib.sh)
CLI4, CLI6 = "198.18.0.2", "2001:2::2"
LBC4, LBC6 = "198.18.0.1", "2001:2::1"
VIP4_DSR, VIP6_DSR = "198.18.100.1", "2001:2:0:100::1"
VIP4_NAT, VIP6_NAT = "198.18.100.2", "2001:2:0:100::2"
BACKENDS = {"be1": ("198.18.1.11", "2001:2:0:1::11"),
            "be2": ("198.18.1.12", "2001:2:0:1::12"),
            "be3": ("198.18.1.13", "2001:2:0:1::13")}
WEIGHTS = {"be1": 1, "be2": 2, "be3": 3}  # lab/lab.yaml and lab/baseline.nft


def default_fairwayd():
    return os.environ.get("FAIRWAYD", os.path.join(REPO, "build", "fairwayd"))


def skip_reason():
    """Why a lab test cannot run here (not root, no fairwayd binary), or None."""
    if os.geteuid() != 0:
        return "the lab needs root"
    if not os.access(default_fairwayd(), os.X_OK):
        return "fairwayd binary not found: %s (set FAIRWAYD)" % default_fairwayd()
    return None


class LabError(RuntimeError):
    pass


class Lab:
    def __init__(self, lb="fairwayd", fairwayd=None, prefix=None, logdir=None, ready_timeout=60,
                 keep_logs=None, workers=1, config_edit=None):
        if lb not in ("fairwayd", "nftables"):
            raise ValueError("lb must be 'fairwayd' or 'nftables'")
        self.lb = lb
        self.workers = workers  # > 1: veths with a queue per worker, one AF_XDP device per queue
        self.config_edit = config_edit  # called with the config (a dict) before fairwayd starts
        self.fairwayd = fairwayd or default_fairwayd()
        self.prefix = prefix or "fwp%05d" % random.randrange(100000)
        self.logdir = logdir or "/tmp/%s" % self.prefix
        self.ready_timeout = ready_timeout
        # logs (servers, fairwayd) are removed at teardown unless asked for (or given a logdir)
        if keep_logs is None:
            keep_logs = bool(logdir) or os.environ.get("FAIRWAY_LAB_KEEP_LOGS", "") not in ("", "0")
        self.keep_logs = keep_logs
        self.config = os.path.join(self.logdir, "fairwayd.yaml")
        self.fwd_log = os.path.join(self.logdir, "fairwayd.log")
        self.fwd_stats = os.path.join(self.logdir, "fairwayd-stats.json")
        self.fwd = None
        self._up = False
        self._old_term = None

    # ---- life cycle -------------------------------------------------------------------------
    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def _ctl(self, *args, timeout=60):
        env = dict(os.environ, LAB_LOGDIR=self.logdir, LAB_QUEUES=str(self.workers))
        r = subprocess.run(["bash", LABCTL, *args], capture_output=True, text=True, timeout=timeout,
                           env=env, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise LabError("labctl %s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def up(self):
        os.makedirs(self.logdir, exist_ok=True)
        # from here on, whatever happens, down() runs
        self._up = True
        atexit.register(self.down)
        if threading_is_main():
            self._old_term = signal.signal(signal.SIGTERM, _raise_exit)
        try:
            self._ctl("up", self.prefix)
            if self.lb == "nftables":
                self._ctl("baseline", self.prefix)
                if not self.wait_ping(LBC4, 10):
                    raise LabError("baseline: %s does not answer" % LBC4)
            else:
                self._ctl("config", self.prefix, self.config)
                if self.workers > 1:
                    multiworker_config(self.config, self.workers)
                if self.config_edit:
                    self.edit_config(self.config_edit)
                self.start_fairwayd()
        except BaseException:
            self.down()
            raise

    def start_fairwayd(self):
        if not os.access(self.fairwayd, os.X_OK):
            raise LabError("fairwayd not found or not executable: %s" % self.fairwayd)
        # preferred busy polling on the AF_XDP veths, as lab/lib.sh lab_afxdp_busy_poll does
        for ifn in ("lb-cli", "lb-srv"):
            self.run("lb", "sh", "-c", "echo 2 > /sys/class/net/%s/napi_defer_hard_irqs && "
                     "echo 200000 > /sys/class/net/%s/gro_flush_timeout" % (ifn, ifn), check=True)
        log = open(self.fwd_log, "wb")
        self.fwd = subprocess.Popen(["ip", "netns", "exec", self.ns("lb"), self.fairwayd, "-c", self.config,
                                     "--stats-file", self.fwd_stats],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        end = time.monotonic() + self.ready_timeout
        while time.monotonic() < end:
            if self.fwd.poll() is not None:
                raise LabError("fairwayd exited with %s before it was ready; log %s:\n%s"
                               % (self.fwd.returncode, self.fwd_log, self.log_tail()))
            # ready: the box answers, and fairwayd has every back-end's MAC (else first SYNs drop)
            if self.ping(LBC4, wait=1) and "neighbors: all" in self.log_tail(400):
                return
            time.sleep(0.2)
        raise LabError("fairwayd not ready after %ss (no ping answer from %s); log %s:\n%s"
                       % (self.ready_timeout, LBC4, self.fwd_log, self.log_tail()))

    def stop_fairwayd(self, timeout=10):
        """SIGTERM, bounded wait, SIGKILL. Returns the counters fairwayd printed (or None)."""
        if self.fwd is None:
            return None
        if self.fwd.poll() is None:
            self.fwd.send_signal(signal.SIGTERM)
            try:
                self.fwd.wait(timeout)
            except subprocess.TimeoutExpired:
                self.fwd.kill()
                self.fwd.wait(5)
        self.fwd = None
        return self.counters()

    def counters(self):
        """fairwayd's final counters: its --stats-file, else the last JSON object in its log."""
        for p in (self.fwd_stats, self.fwd_log):
            try:
                with open(p, errors="replace") as f:
                    obj = last_json_object(f.read())
                if obj is not None:
                    return obj
            except OSError:
                pass
        return None

    def log_tail(self, n=40):
        try:
            with open(self.fwd_log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def down(self):
        if not self._up:
            return
        self._up = False
        try:
            self.stop_fairwayd()
        finally:
            try:
                self._ctl("down", self.prefix)
            finally:
                if self._old_term is not None and threading_is_main():
                    signal.signal(signal.SIGTERM, self._old_term)
                    self._old_term = None
                if not self.keep_logs:
                    shutil.rmtree(self.logdir, ignore_errors=True)

    # ---- helpers ------------------------------------------------------------------------------
    def edit_config(self, edit):
        """Loads fairwayd's config file, lets `edit` change the dict, writes it back."""
        import yaml
        with open(self.config) as f:
            config = yaml.safe_load(f)
        edit(config)
        with open(self.config, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)

    def api(self, method, path, body=None):
        """(status, JSON answer) of a control API request, made inside the LB namespace where
        fairwayd's API listens (control.listen, default 127.0.0.1:9180)."""
        script = ("import json,sys,urllib.request,urllib.error\n"
                  "m,u,b=sys.argv[1],sys.argv[2],sys.argv[3]\n"
                  "r=urllib.request.Request(u,data=b.encode() if b else None,method=m)\n"
                  "try:\n r=urllib.request.urlopen(r,timeout=10);print(r.status);print(r.read().decode())\n"
                  "except urllib.error.HTTPError as e:\n print(e.code);print(e.read().decode())\n")
        data = "" if body is None else (body if isinstance(body, str) else json.dumps(body))
        r = self.run("lb", PY, "-c", script, method, "http://127.0.0.1:9180" + path, data, timeout=30)
        if r.returncode != 0:
            raise LabError("API %s %s: %s" % (method, path, r.stderr))
        status, _, text = r.stdout.partition("\n")
        return int(status), json.loads(text)

    def server_pids(self, backend, script="http_server.py"):
        """PIDs of a lab server running in a back-end's namespace."""
        r = subprocess.run(["ip", "netns", "pids", self.ns(backend)], capture_output=True, text=True,
                           timeout=10)
        pids = []
        for pid in r.stdout.split():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if script.encode() in f.read():
                        pids.append(int(pid))
            except OSError:
                pass
        return pids

    def stop_http_server(self, backend):
        for pid in self.server_pids(backend):
            os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + 10
        while self.server_pids(backend) and time.monotonic() < end:
            time.sleep(0.1)

    def start_http_server(self, backend, *extra_args):
        """Starts the back-end's HTTP server again (lab_start_servers' command, plus
        `extra_args`); the lab's teardown kills everything in its namespaces."""
        log = open(os.path.join(self.logdir, "%s-http-restart.log" % backend), "ab")
        subprocess.Popen(["ip", "netns", "exec", self.ns(backend), PY,
                          os.path.join(LAB_DIR, "servers", "http_server.py"), "--name", backend,
                          "--port", "80", "--port", "8080", *extra_args],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
        log.close()

    def wait_http_server(self, backend, seconds=10):
        """Until the back-end listens on 80 and 8080 again."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r = self.run(backend, "ss", "-Hltn", "( sport = :80 or sport = :8080 )", timeout=10)
            if len(r.stdout.strip().splitlines()) >= 2:
                return
            time.sleep(0.1)
        raise LabError("%s's HTTP server did not come back" % backend)

    def ns(self, name):
        return "%s-%s" % (self.prefix, name)

    def run(self, nsname, *cmd, timeout=30, check=False):
        return subprocess.run(["ip", "netns", "exec", self.ns(nsname), *cmd], capture_output=True,
                              text=True, timeout=timeout, check=check, stdin=subprocess.DEVNULL)

    def client(self, *args, timeout=120):
        """Run lab/client.py in the client namespace, return its JSON result."""
        r = self.run("cli", PY, CLIENT, *[str(a) for a in args], timeout=timeout)
        if r.returncode != 0:
            raise LabError("client.py %s failed: %s" % (" ".join(map(str, args)), r.stderr))
        return json.loads(r.stdout)

    def ping(self, addr, wait=1, count=1):
        r = self.run("cli", "ping", "-n", "-c", str(count), "-W", str(wait), addr, timeout=count * wait + 5)
        return r.returncode == 0

    def wait_ping(self, addr, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.ping(addr):
                return True
            time.sleep(0.2)
        return False

    def nstat(self, nsname, *names):
        """Absolute SNMP counters of a namespace's kernel, e.g. nstat("lb", "IpForwDatagrams")."""
        r = self.run(nsname, "nstat", "-az", "--json", *names, timeout=10)
        try:
            d = json.loads(r.stdout)
            flat = {}
            for v in d.values():
                flat.update(v)
            return {n: int(flat.get(n, 0)) for n in names}
        except ValueError:
            return {n: 0 for n in names}


def multiworker_config(path, workers, device_options=""):
    """Rewrites a lab config for `workers` workers: on veth, AF_XDP binds one queue per device
    (lab/AFXDP-NOTES.md), so each port becomes one device per queue, one per worker. All lcores
    share the machine's CPUs: correctness here, speed on real cores."""
    import yaml
    with open(path) as f:
        config = yaml.safe_load(f)
    config["workers"] = workers
    cpus = max(1, os.cpu_count() or 1)
    config["eal"]["lcores"] = ",".join("%d@%d" % (l, l % cpus) for l in range(workers + 1))
    next_vdev = 0
    for port in config["ports"]:
        iface = port["device"].split("iface=")[1].split(",")[0]
        devices = []
        for q in range(workers):
            devices.append("net_af_xdp%d,iface=%s,start_queue=%d,queue_count=1%s"
                           % (next_vdev, iface, q, device_options))
            next_vdev += 1
        port["device"] = devices
    with open(path, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)


def threading_is_main():
    import threading
    return threading.current_thread() is threading.main_thread()


def _raise_exit(signum, frame):
    # KeyboardInterrupt, not SystemExit: pytest stops the whole session on it (and still runs the
    # fixture teardown), where a SystemExit would only fail the current test
    raise KeyboardInterrupt("signal %d" % signum)
