"""A fairwayd with two net_pcap ports (no NIC, no namespace) and its control API, for tests.

The client port replays a few SYNs to the VIP once, so the counters and flows the API reports
are known exactly. Used by the tests in this directory; needs root (DPDK).
"""
import contextlib
import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAIRWAYD = os.environ.get("FAIRWAYD", str(ROOT / "build" / "fairwayd"))
FAIRWAYCTL = os.environ.get("FAIRWAYCTL", str(pathlib.Path(FAIRWAYD).parent / "fairwayctl"))
FRAMES = 5
TOKEN = "s3cret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_config(work, listen, prefix):
    return {
        "workers": 1, "mbufs": 4095,
        "eal": {"args": ["--no-huge", "-m", "256", "--file-prefix", prefix,
                         "--log-level", "*:warning"]},
        # SYN-only flows must outlive the module's tests
        "flow_table": {"capacity": 4096, "timeouts": {"tcp_syn": "1h"}},
        "control": {"listen": listen, "token": TOKEN},
        "ports": [
            {"name": "client", "device": "net_pcap0,rx_pcap=%s/in.pcap,tx_pcap=%s/out0.pcap" % (work, work),
             "mac": "02:00:00:00:00:01", "addresses": ["198.18.0.1/24"], "exception_path": False},
            {"name": "server", "device": "net_pcap1,rx_pcap=%s/empty.pcap,tx_pcap=%s/out1.pcap" % (work, work),
             "mac": "02:00:00:00:01:01", "addresses": ["198.18.1.1/24"], "exception_path": False}],
        "neighbors": [{"address": "198.18.1.%d" % i, "mac": "02:00:00:00:01:%02x" % i, "port": "server"}
                      for i in range(11, 16)],
        "services": [{"name": "web", "vip": "198.18.100.1", "port": 80, "protocol": "tcp",
                      "mode": "dsr", "backends": [{"address": "198.18.1.11"}, {"address": "198.18.1.12"}]}],
    }


class Daemon:
    """fairwayd running `config` (a dict written as JSON, which is YAML) from `self.config_path`."""

    def __init__(self, listen, work, config_path, proc, log_path):
        self.listen, self.work, self.config_path = listen, work, config_path
        self.proc, self.log_path = proc, log_path

    def log(self):
        return open(self.log_path, errors="replace").read()

    def write_config(self, config_or_text):
        text = config_or_text if isinstance(config_or_text, str) else json.dumps(config_or_text, indent=1)
        with open(self.config_path, "w") as f:
            f.write(text)


@contextlib.contextmanager
def running_daemon(edit_config=None):
    from scapy.all import IP, TCP, Ether, wrpcap  # Debian's python3-scapy
    work = tempfile.mkdtemp(prefix="fairway-api-")
    frames = [Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") /
              IP(src="198.18.0.2", dst="198.18.100.1") / TCP(sport=40000 + i, dport=80, flags="S")
              for i in range(FRAMES)]
    wrpcap(os.path.join(work, "in.pcap"), frames)
    wrpcap(os.path.join(work, "empty.pcap"), [])
    listen = "127.0.0.1:%d" % free_port()
    config = base_config(work, listen, "fwapi%d_%d" % (os.getpid(), free_port()))
    if edit_config:
        edit_config(config)
    cfg = os.path.join(work, "fairwayd.yaml")
    with open(cfg, "w") as f:
        json.dump(config, f, indent=1)
    log_path = os.path.join(work, "fairwayd.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen([FAIRWAYD, "-c", cfg], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    daemon = Daemon(listen, work, cfg, proc, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "fairwayd exited: " + daemon.log()[-2000:]
            try:
                stats = get_json(listen, "/api/v1/stats")
                if stats["counters"]["rx_packets"] == FRAMES:
                    break
            except (OSError, ValueError):
                pass
            assert time.monotonic() < deadline, "API not ready: " + daemon.log()[-2000:]
            time.sleep(0.2)
        yield daemon
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def get(listen, path):
    with urllib.request.urlopen("http://%s%s" % (listen, path), timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def get_json(listen, path):
    return json.loads(get(listen, path)[2])


def call(listen, method, path, body=None, token=TOKEN):
    """(status, JSON answer) of a request; 4xx/5xx are answers too, not exceptions."""
    data = body.encode() if isinstance(body, str) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request("http://%s%s" % (listen, path), data=data, method=method)
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


def ctl(listen, *args, stdin=None):
    return subprocess.run([FAIRWAYCTL, "-s", listen, *args], capture_output=True, text=True,
                          timeout=30, input=stdin)


def services_by_name(listen):
    return {s["name"]: s for s in get_json(listen, "/api/v1/services")}


def backends_of(listen, service):
    return {b["backend"]: b for b in services_by_name(listen)[service]["backends"]}


def wait_for(predicate, seconds=10, what="condition"):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.1)
