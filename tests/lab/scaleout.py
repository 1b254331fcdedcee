"""Scale-out namespace lab: several Fairway nodes behind a router that spreads clients by ECMP,
each node announcing the VIPs by BGP through BIRD (docs/SCALE-OUT.md, "The scale-out lab").

    with ScaleOutLab(nodes=(1, 2)) as lab:
        lab.wait_nexthops("198.18.100.1", {"198.18.20.1", "198.18.20.2"}, 30)
        lab.client("http", "198.18.100.1", 80, "-n", 100)
        lab.kill_node(2)                        # hard: links down, SIGKILL, no BGP notification
        lab.add_node(3)
    # torn down here, also on exceptions, SIGTERM and interpreter exit

Topology (all addresses from 198.18.0.0/15; <P> is the run's prefix):

    <P>-cli 198.18.21.2 --- 198.18.21.1 <P>-rt (BIRD, AS 65000, ECMP, L4 hash)
                                        rtbr 198.18.20.254/24 -- rt-nN == n-cli (node N's client port)
                                        rt-sw 198.18.1.254/24 -- <P>-sw br0
    <P>-nN: fairwayd (AF_XDP on n-cli, n-srv; TAPs fw-client 198.18.20.N, fw-server 198.18.1.N)
            + BIRD (AS 65001) announcing fairwayd's VIPs to 198.18.20.254, BFD
    <P>-sw: br0 joining the nodes' server ports (sw-nN == n-srv), the router (sw-rt) and the
            back-ends be1..be3 (198.18.1.11..13; dsr replies -> router by policy routing, nat
            replies -> ECMP default route over the nodes' 198.18.1.N with fib_multipath_use_neigh)

Lab rules (docs/LAB.md): only our own namespaces with a per-run prefix, only 198.18.0.0/15,
every command bounded by a timeout, everything torn down at the end.
"""
import atexit
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_DIR = os.path.join(REPO, "lab")
CLIENT = os.path.join(LAB_DIR, "client.py")
HTTP_SERVER = os.path.join(LAB_DIR, "servers", "http_server.py")
PY = "/usr/bin/python3"  # Debian's, not a pyenv one: same interpreter in every namespace

CLI4 = "198.18.21.2"
RT_CLI4 = "198.18.21.1"
RT_BR4 = "198.18.20.254"      # the router on the nodes' client-side segment (BGP peer)
RT_SRV4 = "198.18.1.254"      # the router on the server segment (dsr replies)
VIP4_DSR, VIP4_NAT = "198.18.100.1", "198.18.100.2"
VIP_PREFIX = "198.18.100.0/24"
BACKENDS = {"be1": "198.18.1.11", "be2": "198.18.1.12", "be3": "198.18.1.13"}
WEIGHTS = {"be1": 1, "be2": 2, "be3": 3}
ROUTER_AS, NODE_AS = 65000, 65001
MAX_NODES = 3  # a 2-core machine
# service -> (vip, port, back-end port, mode)
SERVICES = {"web-dsr": (VIP4_DSR, 80, 80, "dsr"), "web-nat": (VIP4_NAT, 80, 8080, "nat")}


def node_client_addr(n):
    return "198.18.20.%d" % n


def node_server_addr(n):
    return "198.18.1.%d" % n


def default_fairwayd():
    return os.environ.get("FAIRWAYD", os.path.join(REPO, "build", "fairwayd"))


def default_fairwayctl():
    return os.environ.get("FAIRWAYCTL", os.path.join(os.path.dirname(default_fairwayd()), "fairwayctl"))


class LabError(RuntimeError):
    pass


# ---- configurations ------------------------------------------------------------------------------

# The back-ends' nat return path: an ECMP default route over the nodes' server-side addresses
# with net.ipv4.fib_multipath_use_neigh=1, so that a next hop whose neighbor entry has FAILED is
# skipped. Neighbor timers of eth0 such that a dead node's entry fails within about
#   reachable (0.5..1.5 x base) + delay_first_probe + ucast_solicit x retrans = 0.75 + 0 + 0.3 s
# once something is sent to it.
BACKEND_NEIGH = {"base_reachable_time_ms": 500, "delay_first_probe_time": 0, "retrans_time_ms": 100,
                 "ucast_solicit": 3, "mcast_solicit": 2}
# An established connection keeps the route it was given (the socket's cached dst) whatever the
# neighbor's state; TCP asks for a new one ("negative advice") after tcp_retries1 retransmission
# timeouts, and the kernel drops the cached route then only if a packet of it failed neighbor
# resolution. The default (3) is ~3 s of retransmissions: a held nat connection whose replies
# went through the dead node would stall that long. With 1: ~0.6 s.
BACKEND_SYSCTLS = {"net.ipv4.tcp_retries1": 1}

BFD_TIMERS = "min rx interval 100 ms; min tx interval 100 ms; idle tx interval 300 ms; multiplier 3;"


def router_bird_conf(log):
    """The router's BIRD: a dynamic BGP session per node (neighbor range), BFD on each, and the
    kernel protocol merging equal routes into one ECMP route."""
    return """# The lab router's BIRD 2 (tests/lab/scaleout.py; docs/SCALE-OUT.md).
log "%(log)s" all;
router id %(rt)s;

protocol device { scan time 10; }

protocol bfd {
  interface "rtbr" { %(bfd)s };
}

# the nodes' VIPs into the kernel; equal BGP routes of several nodes -> one multipath route
protocol kernel kernel4 {
  ipv4 { import none; export where source = RTS_BGP; };
  merge paths on;
  learn off;
  persist off;
}

template bgp fairway_node {
  local %(rt)s as %(ras)d;
  hold time 3;            # fallback when BFD is off or fails: a silent node is dropped in <= 3 s
  keepalive time 1;
  connect retry time 1;
  error wait time 1, 5;
  bfd on;
  ipv4 { import all; export none; };
}

# every node of 198.18.20.0/24 may connect (passive side); spawned as node1, node2, ...
protocol bgp node from fairway_node {
  neighbor range 198.18.20.0/24 external;
  dynamic name "node";
}
""" % dict(log=log, rt=RT_BR4, ras=ROUTER_AS, bfd=BFD_TIMERS)


def node_bird_conf(n, vips_file, log):
    return """# BIRD 2 on Fairway node %(n)d (tests/lab/scaleout.py; docs/SCALE-OUT.md).
log "%(log)s" all;
router id %(me)s;

# protocol static fairway_vips4 / fairway_vips6, written by fairwayd (announce.bird_file)
include "%(vips)s";

protocol device { scan time 10; }

protocol bfd {
  interface "fw-client" { %(bfd)s };
}

protocol bgp uplink {
  local %(me)s as %(nas)d;
  neighbor %(rt)s as %(ras)d;
  hold time 3;
  keepalive time 1;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 5;
  bfd on;
  ipv4 { import none; export where proto = "fairway_vips4"; };
}
""" % dict(n=n, me=node_client_addr(n), vips=vips_file, log=log, bfd=BFD_TIMERS, nas=NODE_AS,
           rt=RT_BR4, ras=ROUTER_AS)


def vips_file_text(vips4):
    """What fairwayd writes to announce.bird_file (used by the lab itself when fairwayd has no
    `announce` section yet)."""
    lines = ["# Written by fairwayd: the VIPs this node announces. Do not edit.",
             "protocol static fairway_vips4 {", "  ipv4;"]
    lines += ["  route %s/32 blackhole;" % v for v in vips4]
    lines += ["}", "protocol static fairway_vips6 {", "  ipv6;", "}", ""]
    return "\n".join(lines)


SYNC_PORT = 7470
SYNC_KEY = "fairway-scale-out-lab-flow-sync-key"  # the lab's shared key (a real one: a key file)


def node_config(prefix, n, announce=None, health_check=True, flow_sync=True):
    """fairwayd's configuration of node n (from lab/lab.yaml: web-dsr and web-nat, IPv4); with
    flow_sync, every other possible node is a peer (a node not there yet just gets nothing)."""
    hc = {"type": "tcp", "interval": "500ms", "timeout": "300ms", "rise": 2, "fall": 2}
    services = []
    for name, (vip, port, be_port, mode) in SERVICES.items():
        s = {"name": name, "vip": vip, "port": port, "protocol": "tcp", "mode": mode,
             "backends": [{"address": a, "port": be_port, "weight": WEIGHTS[b]}
                          for b, a in BACKENDS.items()]}
        if health_check:
            s["health_check"] = dict(hc)
        services.append(s)
    cpus = max(1, os.cpu_count() or 1)
    config = {
        "workers": 1,
        "workers_poll": "adaptive",  # several nodes share the machine's cores
        # the nodes' main and worker lcores spread over the CPUs
        "eal": {"lcores": "0@%d,1@%d" % ((n + 1) % cpus, n % cpus),
                "args": ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "%sn%d" % (prefix, n)]},
        "control": {"listen": "127.0.0.1:9180"},  # inside the node's namespace
        "ports": [
            {"name": "client", "device": "net_af_xdp0,iface=n-cli",
             "addresses": ["%s/24" % node_client_addr(n)], "tap": "fw-client"},
            {"name": "server", "device": "net_af_xdp1,iface=n-srv",
             "addresses": ["%s/24" % node_server_addr(n)], "tap": "fw-server"},
        ],
        "routes": [{"prefix": "198.18.21.0/24", "via": RT_BR4, "port": "client"}],
        "services": services,
    }
    if announce:
        config["announce"] = dict(announce)
    if flow_sync:
        config["flow_sync"] = {
            "listen": "%s:%d" % (node_server_addr(n), SYNC_PORT),
            "peers": ["%s:%d" % (node_server_addr(m), SYNC_PORT)
                      for m in range(1, MAX_NODES + 1) if m != n],
            "key": SYNC_KEY}
    return config


def fairwayd_has_announce(fairwayd, tmpdir):
    """Whether this fairwayd knows the `announce` section (fairwayd --check on a small config)."""
    path = os.path.join(tmpdir, "announce-check.yaml")
    cfg = node_config("fwchk", 1, announce={"bird_file": os.path.join(tmpdir, "x.conf"),
                                             "bird_socket": os.path.join(tmpdir, "x.ctl")})
    _write_yaml(path, cfg)
    try:
        r = subprocess.run([fairwayd, "--check", "-c", path], capture_output=True, text=True,
                           timeout=20, stdin=subprocess.DEVNULL)
    finally:
        os.unlink(path)
    if r.returncode == 0:
        return True
    if "announce" in r.stderr:
        return False
    raise LabError("fairwayd --check rejects the lab's node configuration: %s" % r.stderr)


def _write_yaml(path, obj):
    import yaml
    with open(path + ".tmp", "w") as f:
        yaml.safe_dump(obj, f, sort_keys=False)
    os.replace(path + ".tmp", path)


# ---- the lab -------------------------------------------------------------------------------------

class Node:
    def __init__(self, n, dirpath):
        self.n = n
        self.dir = dirpath
        self.config = os.path.join(dirpath, "fairwayd.yaml")
        self.fwd_log = os.path.join(dirpath, "fairwayd.log")
        self.fwd_stats = os.path.join(dirpath, "fairwayd-stats.json")
        self.bird_conf = os.path.join(dirpath, "bird.conf")
        self.bird_log = os.path.join(dirpath, "bird.log")
        self.bird_out = os.path.join(dirpath, "bird.out")
        self.bird_sock = os.path.join(dirpath, "bird.ctl")
        self.vips_file = os.path.join(dirpath, "fairway-vips.conf")
        self.fwd = None
        self.bird = None
        self.alive = False

    @property
    def client_addr(self):
        return node_client_addr(self.n)

    @property
    def server_addr(self):
        return node_server_addr(self.n)


class Background:
    """lab/client.py running in the client namespace in the background; finish() stops it (its
    --stop-file) and returns its JSON."""

    def __init__(self, lab, args, stop_file):
        self.stop_file = stop_file
        self.args = args
        self.started = time.time()
        self.proc = subprocess.Popen(["ip", "netns", "exec", lab.ns("cli"), PY, CLIENT, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     stdin=subprocess.DEVNULL)
        lab._background.append(self)

    def finish(self, timeout=60):
        open(self.stop_file, "w").close()
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=10)
            raise LabError("client.py %s did not finish within %ss: %s" % (self.args[0], timeout,
                                                                           err[-2000:]))
        if self.proc.returncode != 0:
            raise LabError("client.py %s failed: %s" % (" ".join(self.args), err[-2000:]))
        return json.loads(out)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


class ScaleOutLab:
    def __init__(self, nodes=(1, 2), fairwayd=None, fairwayctl=None, prefix=None, logdir=None,
                 keep_logs=None, ready_timeout=60, health_check=True, bfd=True, announce=None,
                 flow_sync=True,
                 backend_sysctls=None):
        self.fairwayd_src = fairwayd or default_fairwayd()
        self.fairwayctl_bin = fairwayctl or default_fairwayctl()
        self.prefix = prefix or "fws%05d" % random.randrange(100000)
        self.logdir = logdir or "/tmp/%s" % self.prefix
        if keep_logs is None:
            keep_logs = bool(logdir) or os.environ.get("FAIRWAY_LAB_KEEP_LOGS", "") not in ("", "0")
        self.keep_logs = keep_logs
        self.ready_timeout = ready_timeout
        self.health_check = health_check
        self.flow_sync = flow_sync  # nodes added from now on share their flows
        self.bfd = bfd
        self.announce = announce  # None: use fairwayd's announce section when it has one
        self.initial_nodes = tuple(nodes)
        self.backend_sysctls = dict(BACKEND_SYSCTLS if backend_sysctls is None else backend_sysctls)
        self.nodes = {}  # n -> Node (alive or killed, until remove_node)
        self.rt_bird = None
        self.rt_sock = os.path.join(self.logdir, "rt-bird.ctl")
        self._background = []
        self._namespaces = []
        self._pids = []  # other processes we started (servers)
        self._up = False
        self._old_term = None
        self._lock = threading.Lock()

    # ---- life cycle ------------------------------------------------------------------------------
    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def up(self):
        if os.geteuid() != 0:
            raise LabError("the lab needs root (network namespaces)")
        for tool in ("ip", "ethtool", "bird", "birdc", "sysctl"):
            if shutil.which(tool) is None:
                raise LabError("missing tool: %s (see lab/packages.txt)" % tool)
        if not os.access(self.fairwayd_src, os.X_OK):
            raise LabError("fairwayd not found or not executable: %s" % self.fairwayd_src)
        existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
        if any(l.split()[0].startswith(self.prefix + "-") for l in existing.stdout.splitlines() if l):
            raise LabError("namespaces with prefix %s already exist" % self.prefix)
        os.makedirs(self.logdir, exist_ok=True)
        self._up = True
        atexit.register(self.down)
        if threading.current_thread() is threading.main_thread():
            self._old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            # our own copy: a rebuild of build/fairwayd during the run changes nothing here
            self.fairwayd = os.path.join(self.logdir, "fairwayd")
            shutil.copy2(self.fairwayd_src, self.fairwayd)
            if self.announce is None:
                self.announce = fairwayd_has_announce(self.fairwayd, self.logdir)
            self._build_fabric()
            self._start_servers()
            self._start_router_bird()
            for n in self.initial_nodes:
                self.add_node(n, wait=False)
            for vip in (VIP4_DSR, VIP4_NAT):
                self.wait_nexthops(vip, {node_client_addr(n) for n in self.initial_nodes},
                                   self.ready_timeout)
        except BaseException:
            self.down()
            raise

    def down(self):
        with self._lock:
            if not self._up:
                return
            self._up = False
        try:
            for b in self._background:
                b.kill()
            for n in list(self.nodes):
                try:
                    self._stop_node_processes(self.nodes[n], graceful=False)
                except Exception:
                    pass
            _stop_proc(self.rt_bird, 3)
            for pid in self._pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            # anything still running in our namespaces was started by us
            for ns in self._our_namespaces():
                r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=10)
                for pid in r.stdout.split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (OSError, ValueError):
                        pass
            for ns in self._our_namespaces():
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
            for n in range(1, MAX_NODES + 1):
                shutil.rmtree("/var/run/dpdk/%sn%d" % (self.prefix, n), ignore_errors=True)
        finally:
            if self._old_term is not None and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, self._old_term)
                self._old_term = None
            if not self.keep_logs:
                shutil.rmtree(self.logdir, ignore_errors=True)

    def _our_namespaces(self):
        r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
        return [l.split()[0] for l in r.stdout.splitlines()
                if l.strip() and l.split()[0].startswith(self.prefix + "-")]

    # ---- plumbing --------------------------------------------------------------------------------
    def ns(self, name):
        return "%s-%s" % (self.prefix, name)

    def run(self, nsname, *cmd, timeout=30, check=False):
        r = subprocess.run(["ip", "netns", "exec", self.ns(nsname), *map(str, cmd)], capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise LabError("in %s: %s failed (%d): %s%s" % (nsname, " ".join(map(str, cmd)),
                                                            r.returncode, r.stdout, r.stderr))
        return r

    def _ip(self, nsname, *args, check=True):
        r = subprocess.run(["ip", "-n", self.ns(nsname), *map(str, args)], capture_output=True,
                           text=True, timeout=30, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise LabError("ip -n %s %s: %s" % (self.ns(nsname), " ".join(map(str, args)), r.stderr))
        return r

    def _sysctl(self, nsname, **kv):
        args = ["%s=%s" % (k, v) for k, v in kv.items()]
        self.run(nsname, "sysctl", "-qw", *args, check=True)

    def _add_ns(self, name, ipv6=False):
        ns = self.ns(name)
        subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True, timeout=10)
        self._ip(name, "link", "set", "lo", "up")
        s = {"net.ipv6.conf.all.accept_dad": 0, "net.ipv6.conf.default.accept_dad": 0,
             "net.ipv6.conf.all.accept_ra": 0, "net.ipv6.conf.default.accept_ra": 0}
        if not ipv6:  # IPv4 only: nothing of IPv6 (MLD, RS) on the wires
            s.update({"net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1})
        self._sysctl(name, **s)

    def _kernel_side(self, nsname, ifn):
        """Transmit checksum offload off (full checksums on the wire: the data plane gets the
        frames as from a NIC), MTU 1500, up."""
        self.run(nsname, "ethtool", "-K", ifn, "tx", "off", check=True)
        self._ip(nsname, "link", "set", ifn, "mtu", 1500, "up")

    def _build_fabric(self):
        for name in ("cli", "rt", "sw", *BACKENDS):
            self._add_ns(name)
        # client <-> router
        self._ip("cli", "link", "add", "cli0", "type", "veth", "peer", "name", "rt-cli", "netns", self.ns("rt"))
        self._kernel_side("cli", "cli0")
        self._kernel_side("rt", "rt-cli")
        self._ip("cli", "addr", "add", CLI4 + "/24", "dev", "cli0")
        self._ip("cli", "route", "add", "default", "via", RT_CLI4)
        self._ip("rt", "addr", "add", RT_CLI4 + "/24", "dev", "rt-cli")
        # the router: the nodes' client-side bridge, ECMP with an L4 hash, no reverse-path filter
        # (dsr replies from the VIPs come in on rt-sw while the VIPs are routed to rtbr)
        self._sysctl("rt", **{"net.ipv4.ip_forward": 1, "net.ipv4.fib_multipath_hash_policy": 1,
                              "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0})
        self._ip("rt", "link", "add", "rtbr", "type", "bridge", "stp_state", 0, "mcast_snooping", 0)
        self._kernel_side("rt", "rtbr")
        self._ip("rt", "addr", "add", RT_BR4 + "/24", "dev", "rtbr")
        # the server-side bridge, and the router on it
        self._ip("sw", "link", "add", "br0", "type", "bridge", "stp_state", 0, "mcast_snooping", 0)
        self._kernel_side("sw", "br0")
        self._ip("rt", "link", "add", "rt-sw", "type", "veth", "peer", "name", "sw-rt", "netns", self.ns("sw"))
        self._ip("sw", "link", "set", "sw-rt", "master", "br0")
        self._kernel_side("sw", "sw-rt")
        self._kernel_side("rt", "rt-sw")
        self._ip("rt", "addr", "add", RT_SRV4 + "/24", "dev", "rt-sw")
        # back-ends
        for b, addr in BACKENDS.items():
            self._ip("sw", "link", "add", "sw-" + b, "type", "veth", "peer", "name", "eth0", "netns", self.ns(b))
            self._ip("sw", "link", "set", "sw-" + b, "master", "br0")
            self._kernel_side("sw", "sw-" + b)
            self._kernel_side(b, "eth0")
            self._ip(b, "addr", "add", addr + "/24", "dev", "eth0")
            # DSR: the dsr VIP on lo, never announced by ARP on eth0
            self._ip(b, "addr", "add", VIP4_DSR + "/32", "dev", "lo")
            s = {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2,
                 "net.ipv4.conf.eth0.arp_ignore": 1, "net.ipv4.conf.eth0.arp_announce": 2,
                 # nat replies: ECMP over the nodes, a next hop whose neighbor FAILED is skipped
                 "net.ipv4.fib_multipath_use_neigh": 1, "net.ipv4.fib_multipath_hash_policy": 1}
            s.update({"net.ipv4.neigh.eth0.%s" % k: v for k, v in BACKEND_NEIGH.items()})
            s.update(self.backend_sysctls)
            self._sysctl(b, **s)
            # dsr replies (source: a VIP) go straight to the router
            self._ip(b, "rule", "add", "from", VIP_PREFIX, "table", 100, "pref", 100)
            self._ip(b, "route", "add", "default", "via", RT_SRV4, "dev", "eth0", "table", 100)

    def _start_servers(self):
        for b in BACKENDS:
            for port in (80, 8080):
                self.start_http_server(b, port)
        for b in BACKENDS:
            for port in (80, 8080):
                self.wait_http_server(b, port)

    def start_http_server(self, backend, port):
        """lab/servers/http_server.py on one port (one process per port, so that a port can be
        stopped alone)."""
        log = open(os.path.join(self.logdir, "%s-http-%d.log" % (backend, port)), "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(backend), PY, HTTP_SERVER, "--name", backend,
                              "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._pids.append(p.pid)
        return p

    def wait_http_server(self, backend, port, seconds=10):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r = self.run(backend, "ss", "-Hltn", "sport = :%d" % port, timeout=10)
            if r.stdout.strip():
                return
            time.sleep(0.1)
        raise LabError("%s does not listen on port %d" % (backend, port))

    def server_pids(self, backend, port):
        r = subprocess.run(["ip", "netns", "pids", self.ns(backend)], capture_output=True, text=True,
                           timeout=10)
        pids = []
        for pid in r.stdout.split():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if any(a.endswith(b"http_server.py") for a in args) and str(port).encode() in args:
                pids.append(int(pid))
        return pids

    def stop_http_server(self, backend, port):
        for pid in self.server_pids(backend, port):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        end = time.monotonic() + 10
        while self.server_pids(backend, port) and time.monotonic() < end:
            time.sleep(0.1)
        for pid in self.server_pids(backend, port):
            os.kill(pid, signal.SIGKILL)

    def _start_router_bird(self):
        conf = os.path.join(self.logdir, "rt-bird.conf")
        with open(conf, "w") as f:
            f.write(router_bird_conf(os.path.join(self.logdir, "rt-bird.log")))
        if not self.bfd:
            _drop_bfd(conf)
        self.rt_bird = self._start_bird("rt", conf, self.rt_sock, os.path.join(self.logdir, "rt-bird.out"))

    def _start_bird(self, nsname, conf, sock, out):
        r = subprocess.run(["bird", "-p", "-c", conf], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise LabError("bird -p -c %s: %s%s" % (conf, r.stdout, r.stderr))
        f = open(out, "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(nsname), "bird", "-f", "-c", conf, "-s", sock,
                              "-P", sock + ".pid"], stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        f.close()
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if p.poll() is not None:
                raise LabError("bird in %s exited (%s): %s" % (nsname, p.returncode, _tail(out)))
            if self._birdc_sock(nsname, sock, "show", "status").returncode == 0:
                return p
            time.sleep(0.1)
        raise LabError("bird in %s does not answer on %s" % (nsname, sock))

    def _birdc_sock(self, nsname, sock, *cmd, timeout=10):
        return self.run(nsname, "birdc", "-s", sock, *cmd, timeout=timeout)

    def birdc(self, where, *cmd):
        """birdc in the router ("rt") or a node (its number); returns its output."""
        if where == "rt":
            r = self._birdc_sock("rt", self.rt_sock, *cmd)
        else:
            r = self._birdc_sock("n%d" % where, self.nodes[where].bird_sock, *cmd)
        return r.stdout + r.stderr

    # ---- nodes -----------------------------------------------------------------------------------
    def add_node(self, n, wait=True, timeout=None):
        """Node n (1..3): its namespace and data-plane veths, fairwayd, then BIRD; the back-ends'
        ECMP default route gets its next hop. With wait, returns once the router has the node's
        next hop for both VIPs (seconds it took from the start)."""
        if not 1 <= n <= MAX_NODES:
            raise ValueError("nodes are 1..%d" % MAX_NODES)
        if n in self.nodes:
            raise LabError("node %d exists" % n)
        t0 = time.monotonic()
        node = Node(n, os.path.join(self.logdir, "n%d" % n))
        os.makedirs(node.dir, exist_ok=True)
        for p in (node.vips_file, node.fwd_stats):
            if os.path.exists(p):
                os.unlink(p)
        self.nodes[n] = node
        name = "n%d" % n
        self._add_ns(name, ipv6=True)
        # data-plane ports: client (peer on the router's bridge), server (peer on the switch)
        self._ip(name, "link", "add", "n-cli", "type", "veth", "peer", "name", "rt-n%d" % n,
                 "netns", self.ns("rt"))
        self._ip(name, "link", "add", "n-srv", "type", "veth", "peer", "name", "sw-n%d" % n,
                 "netns", self.ns("sw"))
        self._ip("rt", "link", "set", "rt-n%d" % n, "master", "rtbr")
        self._kernel_side("rt", "rt-n%d" % n)
        self._ip("sw", "link", "set", "sw-n%d" % n, "master", "br0")
        self._kernel_side("sw", "sw-n%d" % n)
        # no address and no IPv6 on the data-plane veths: the kernel keeps quiet on them
        self._sysctl(name, **{"net.ipv4.ip_forward": 1, "net.ipv6.conf.n-cli.disable_ipv6": 1,
                              "net.ipv6.conf.n-srv.disable_ipv6": 1})
        for ifn in ("n-cli", "n-srv"):
            self.run(name, "ethtool", "-K", ifn, "tx", "off")
            self._ip(name, "link", "set", ifn, "mtu", 1500, "up")
            # preferred busy polling, as lab/lib.sh lab_afxdp_busy_poll
            self.run(name, "sh", "-c", "echo 2 > /sys/class/net/%s/napi_defer_hard_irqs && "
                     "echo 200000 > /sys/class/net/%s/gro_flush_timeout" % (ifn, ifn), check=True)
        announce = None
        if self.announce:
            announce = {"bird_file": node.vips_file, "bird_socket": node.bird_sock}
        _write_yaml(node.config, node_config(self.prefix, n, announce, self.health_check,
                                             self.flow_sync))
        self._start_fairwayd(node)
        if not self.announce:  # stand-in for fairwayd's announce section
            _write_atomic(node.vips_file, vips_file_text([VIP4_DSR, VIP4_NAT]))
        else:
            end = time.monotonic() + 10
            while not os.path.exists(node.vips_file):
                if time.monotonic() > end:
                    raise LabError("fairwayd did not write %s" % node.vips_file)
                time.sleep(0.05)
        with open(node.bird_conf, "w") as f:
            f.write(node_bird_conf(n, node.vips_file, node.bird_log))
        if not self.bfd:
            _drop_bfd(node.bird_conf)
        node.bird = self._start_bird(name, node.bird_conf, node.bird_sock, node.bird_out)
        node.alive = True
        self._update_backend_routes()
        if wait:
            want = {x.client_addr for x in self.nodes.values() if x.alive}
            self.wait_nexthops(VIP4_DSR, want, timeout or self.ready_timeout)
            self.wait_nexthops(VIP4_NAT, want, timeout or self.ready_timeout)
        return time.monotonic() - t0

    def _start_fairwayd(self, node):
        log = open(node.fwd_log, "wb")
        node.fwd = subprocess.Popen(["ip", "netns", "exec", self.ns("n%d" % node.n), self.fairwayd,
                                     "-c", node.config, "--stats-file", node.fwd_stats],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        log.close()
        end = time.monotonic() + self.ready_timeout
        while time.monotonic() < end:
            if node.fwd.poll() is not None:
                raise LabError("fairwayd of node %d exited with %s; log %s:\n%s"
                               % (node.n, node.fwd.returncode, node.fwd_log, _tail(node.fwd_log)))
            # ready: the node answers the router through its data plane and exception path, and
            # has every back-end's MAC
            if "neighbors: all" in _tail(node.fwd_log, 400) and \
                    self.run("rt", "ping", "-n", "-c", "1", "-W", "1", node.client_addr,
                             timeout=5).returncode == 0:
                return
            time.sleep(0.2)
        raise LabError("fairwayd of node %d not ready after %ss; log %s:\n%s"
                       % (node.n, self.ready_timeout, node.fwd_log, _tail(node.fwd_log)))

    def kill_node(self, n):
        """A hard failure: the node's links go down, fairwayd and BIRD get SIGKILL (no BGP
        notification, no withdrawal). Its namespace and next hop stay until remove_node."""
        node = self.nodes[n]
        for ifn in ("n-cli", "n-srv"):
            self._ip("n%d" % n, "link", "set", ifn, "down", check=False)
        for p in (node.fwd, node.bird):
            if p is not None and p.poll() is None:
                _kill_group(p, signal.SIGKILL)
        for p in (node.fwd, node.bird):
            if p is not None:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        node.alive = False

    def remove_node(self, n):
        """Node n goes away: fairwayd stops (SIGTERM: it withdraws its VIPs through BIRD), BIRD
        stops (a Cease notification), the back-ends' default route loses the node's next hop,
        the namespace (and the veths) is deleted."""
        node = self.nodes[n]
        self._stop_node_processes(node, graceful=True)
        node.alive = False
        del self.nodes[n]
        self._update_backend_routes()
        # the veths first (with their peers on the bridges): a namespace is destroyed
        # asynchronously, and the node may be added again at once
        for ifn in ("n-cli", "n-srv"):
            self._ip("n%d" % n, "link", "del", ifn, check=False)
        subprocess.run(["ip", "netns", "del", self.ns("n%d" % n)], capture_output=True, timeout=30)
        shutil.rmtree("/var/run/dpdk/%sn%d" % (self.prefix, n), ignore_errors=True)

    def _stop_node_processes(self, node, graceful):
        # fairwayd first: at a clean stop it withdraws its VIPs through BIRD, which then tells
        # the router (BGP withdrawals, and a Cease when BIRD itself stops)
        _stop_proc(node.fwd, 10 if graceful else 0)
        _stop_proc(node.bird, 3 if graceful else 0)

    def stop_fairwayd(self, n, timeout=10):
        """SIGTERM to node n's fairwayd; its final counters (--stats-file) or None."""
        node = self.nodes[n]
        _stop_proc(node.fwd, timeout)
        try:
            with open(node.fwd_stats) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def _update_backend_routes(self):
        """The back-ends' main default route: ECMP over the server-side addresses of the nodes in
        the lab (a dead node's next hop stays until remove_node: fib_multipath_use_neigh skips it
        once its neighbor entry has FAILED)."""
        hops = [node_server_addr(n) for n in sorted(self.nodes)]
        for b in BACKENDS:
            if not hops:
                self._ip(b, "route", "del", "default", check=False)
            elif len(hops) == 1:
                self._ip(b, "route", "replace", "default", "via", hops[0], "dev", "eth0")
            else:
                args = []
                for h in hops:
                    args += ["nexthop", "via", h, "dev", "eth0"]
                self._ip(b, "route", "replace", "default", *args)

    def backend_nexthops(self, backend="be1"):
        r = self._ip(backend, "-j", "route", "show", "default", check=False)
        return _nexthops(r.stdout)

    # ---- router ----------------------------------------------------------------------------------
    def router_nexthops(self, vip):
        """Next hops of the router's kernel route to vip/32, sorted ([] when there is none)."""
        r = self._ip("rt", "-j", "route", "show", "exact", vip + "/32", check=False)
        return _nexthops(r.stdout)

    def wait_nexthops(self, vip, expected, timeout):
        """Waits until the router's next hops for vip are exactly `expected` (a set of addresses);
        returns the seconds it took. Raises LabError on timeout."""
        expected = set(expected)
        t0 = time.monotonic()
        while True:
            got = set(self.router_nexthops(vip))
            if got == expected:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise LabError("router's next hops for %s: %s after %.1f s, expected %s\n%s"
                               % (vip, sorted(got), timeout, sorted(expected),
                                  self.birdc("rt", "show", "protocols")))
            time.sleep(0.02)

    # ---- clients and the API ---------------------------------------------------------------------
    def client(self, *args, timeout=120):
        """lab/client.py in the client namespace; its JSON."""
        r = self.run("cli", PY, CLIENT, *args, timeout=timeout)
        if r.returncode != 0:
            raise LabError("client.py %s failed: %s" % (" ".join(map(str, args)), r.stderr))
        return json.loads(r.stdout)

    def start_client(self, *args, name="bg"):
        """lab/client.py in the background (steady, churn, reuse: the commands with --stop-file);
        .finish() stops it and returns its JSON."""
        stop = os.path.join(self.logdir, "stop-%s-%d" % (name, len(self._background)))
        if os.path.exists(stop):
            os.unlink(stop)
        return Background(self, [*map(str, args), "--stop-file", stop], stop)

    def start_steady(self, vip, port=80, hold=30, hold_every=0.2, rate=20, seconds=120, timeout=3):
        return self.start_client("steady", vip, port, "--hold", hold, "--hold-every", hold_every,
                                 "--rate", rate, "--seconds", seconds, "--timeout", timeout,
                                 name="steady")

    def node_api(self, n, method, path, body=None):
        """(status, JSON answer) of a request to node n's control API (127.0.0.1:9180 in its
        namespace)."""
        script = ("import json,sys,urllib.request,urllib.error\n"
                  "m,u,b=sys.argv[1],sys.argv[2],sys.argv[3]\n"
                  "r=urllib.request.Request(u,data=b.encode() if b else None,method=m)\n"
                  "try:\n r=urllib.request.urlopen(r,timeout=10);print(r.status);print(r.read().decode())\n"
                  "except urllib.error.HTTPError as e:\n print(e.code);print(e.read().decode())\n")
        data = "" if body is None else (body if isinstance(body, str) else json.dumps(body))
        r = self.run("n%d" % n, PY, "-c", script, method, "http://127.0.0.1:9180" + path, data, timeout=30)
        if r.returncode != 0:
            raise LabError("node %d API %s %s: %s" % (n, method, path, r.stderr))
        status, _, text = r.stdout.partition("\n")
        try:
            return int(status), json.loads(text)
        except ValueError:
            return int(status), text

    def fairwayctl(self, n, *args, timeout=60):
        """fairwayctl in node n's namespace (it talks to 127.0.0.1:9180 there)."""
        return self.run("n%d" % n, self.fairwayctl_path(), *args, timeout=timeout)

    def fairwayctl_path(self):
        return self.fairwayctl_bin

    def ping(self, addr, wait=1):
        return self.run("cli", "ping", "-n", "-c", "1", "-W", wait, addr, timeout=wait + 5).returncode == 0


# ---- helpers -------------------------------------------------------------------------------------

def _nexthops(ip_json):
    try:
        routes = json.loads(ip_json or "[]")
    except ValueError:
        return []
    hops = []
    for r in routes:
        multi = r.get("nexthops") or r.get("multipath")  # iproute2 6.1 says "nexthops"
        if multi:
            hops += [h["gateway"] for h in multi if "gateway" in h]
        elif "gateway" in r:
            hops.append(r["gateway"])
    return sorted(hops)


def _drop_bfd(conf):
    """BFD off (the hold timer alone detects a silent peer)."""
    import re
    with open(conf) as f:
        text = f.read()
    text = re.sub(r"protocol bfd \{.*?\n\}\n", "", text, flags=re.S)
    text = text.replace("  bfd on;\n", "")
    with open(conf, "w") as f:
        f.write(text)


def _write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def _kill_group(p, sig):
    # the processes run in their own session (start_new_session): `ip netns exec` and its child
    try:
        os.killpg(p.pid, sig)
    except OSError:
        try:
            p.send_signal(sig)
        except OSError:
            pass


def _stop_proc(p, timeout):
    """SIGTERM (unless timeout is 0), bounded wait, SIGKILL."""
    if p is None or p.poll() is not None:
        return
    if timeout:
        _kill_group(p, signal.SIGTERM)
        try:
            p.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    _kill_group(p, signal.SIGKILL)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        pass


def _raise_interrupt(signum, frame):
    # KeyboardInterrupt, not SystemExit: pytest stops the whole session on it (and still runs the
    # fixture teardown)
    raise KeyboardInterrupt("signal %d" % signum)
