# shellcheck shell=bash
# Fairway network-namespace lab: reusable topology functions.
#
#   source lab/lib.sh
#   lab_init                 # picks a unique per-run prefix LAB_P, installs the EXIT/INT/TERM trap
#   lab_up                   # namespaces, veths, bridge, addresses, routes, sysctls
#   lab_start_servers        # HTTP :80/:8080 and UDP echo :53 on every back-end (v4+v6)
#   lab_lb_exec CMD...       # run CMD inside the load-balancer namespace
#   lab_down                 # kills what the lab started, deletes its namespaces (also run by the trap)
#
# Also: lab_gen_config, lab_start_fairwayd, lab_wait_ready (below); lab/baseline-nftables.sh (the
# kernel stand-in); lab/labctl.sh (the same as commands, for tests/lab/labnet.py); lab/demo.sh.
#
# Topology (see docs/LAB.md for the picture):
#   <P>-cli  cli0 198.18.0.2/24 2001:2::2/64 ---- lb-cli  (<P>-lb, no address, data plane port "client")
#   <P>-lb   lb-srv (no address, data plane port "server") ---- sw-lb  (<P>-sw, bridge br0)
#   <P>-sw   br0: sw-lb, sw-be1, sw-be2, sw-be3
#   <P>-beN  eth0 198.18.1.1N/24 2001:2:0:1::1N/64 ---- sw-beN ; VIPs on lo (DSR); default via the LB
#
# Lab rules (docs/LAB.md): only namespaces and links created here, with a unique prefix per run,
# always torn down by the trap; addresses only from 198.18.0.0/15 and 2001:2::/48; no route toward
# the host; every loop bounded; transmit checksum offload off on the kernel side of every veth.
#
# Environment knobs (all optional):
#   LAB_P        prefix (default: fwl<random><pid>; 2-10 lowercase letters and digits)
#   LAB_QUEUES   RX/TX queues on lb-cli / lb-srv and their peers (default 1)
#   LAB_MTU      MTU of every veth (default 1500; af_xdp on veth in native mode needs <= 3498)
#   LAB_LOGDIR   where server and daemon logs go (default /tmp/<P>)

LAB_DIR=${LAB_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
LAB_PY=${LAB_PY:-/usr/bin/python3}
LAB_QUEUES=${LAB_QUEUES:-1}
LAB_MTU=${LAB_MTU:-1500}
LAB_BACKENDS=(be1 be2 be3)

# Addresses (the only ones the lab uses); also read by baseline-nftables.sh and demo.sh.
LAB_CLI4=198.18.0.2        LAB_CLI6=2001:2::2
LAB_LBC4=198.18.0.1        LAB_LBC6=2001:2::1
LAB_LBS4=198.18.1.1        LAB_LBS6=2001:2:0:1::1
LAB_VIP4=198.18.100.1      LAB_VIP6=2001:2:0:100::1
# shellcheck disable=SC2034
LAB_VIP4_NAT=198.18.100.2  LAB_VIP6_NAT=2001:2:0:100::2
lab_be4() { echo "198.18.1.1${1#be}"; }      # be2 -> 198.18.1.12
lab_be6() { echo "2001:2:0:1::1${1#be}"; }   # be2 -> 2001:2:0:1::12

lab_log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }
lab_die() { lab_log "ERROR: $*"; exit 1; }

# lab_init: choose the prefix, make the log dir, install the teardown trap.
lab_init() {
  [ "$(id -u)" = 0 ] || lab_die "the lab needs root (network namespaces); run with sudo"
  local t
  for t in ip ethtool sysctl; do command -v "$t" >/dev/null || lab_die "missing tool: $t (see lab/packages.txt)"; done
  if [ -z "${LAB_P:-}" ]; then
    LAB_P="fwl$(printf '%03d' $((RANDOM % 1000)))$(($$ % 100))"
  fi
  [[ "$LAB_P" =~ ^[a-z][a-z0-9]{1,9}$ ]] || lab_die "LAB_P must be 2-10 lowercase letters/digits"
  if ip netns list | grep -q "^${LAB_P}-"; then lab_die "namespaces with prefix $LAB_P already exist"; fi
  LAB_LOGDIR=${LAB_LOGDIR:-/tmp/$LAB_P}
  mkdir -p "$LAB_LOGDIR"
  LAB_PIDS=()
  export LAB_P LAB_LOGDIR
  trap 'lab__trap EXIT' EXIT
  trap 'lab__trap INT; exit 130' INT
  trap 'lab__trap TERM; exit 143' TERM
}

lab__trap() {
  local why=$1
  trap - EXIT INT TERM
  [ "$why" = EXIT ] || lab_log "caught $why, tearing down"
  lab_down
}

lab_ns() { echo "${LAB_P}-$1"; }                       # lab_ns cli -> fwl12345-cli
lab_exec() { local n=$1; shift; ip netns exec "${LAB_P}-$n" "$@"; }
lab_cli_exec() { lab_exec cli "$@"; }
lab_lb_exec() { lab_exec lb "$@"; }

# lab_bg NS LOGFILE CMD...: start CMD in namespace NS in the background, remember its pid.
lab_bg() {
  local n=$1 log=$2; shift 2
  ip netns exec "${LAB_P}-$n" "$@" >"$log" 2>&1 &
  LAB_PIDS+=("$!")
  echo "$!"
}

lab__ns_base() {  # lo up, no DAD, no RA/autoconf surprises
  local ns=$1
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
    net.ipv6.conf.all.autoconf=0 net.ipv6.conf.default.autoconf=0
}

lab__veth_kernel_side() {  # ns ifname: tx checksum offload off (full checksums on the wire), MTU, up
  local ns=$1 ifn=$2
  ip netns exec "$ns" ethtool -K "$ifn" tx off >/dev/null 2>&1 || lab_die "ethtool -K $ifn tx off failed in $ns"
  ip -n "$ns" link set "$ifn" mtu "$LAB_MTU" up
}

lab_up() {
  [ -n "${LAB_P:-}" ] || lab_die "call lab_init first"
  local C L S b ns q=$LAB_QUEUES
  C=$(lab_ns cli) L=$(lab_ns lb) S=$(lab_ns sw)
  lab_log "bringing up lab $LAB_P (queues=$q, mtu=$LAB_MTU, logs in $LAB_LOGDIR)"
  for ns in "$C" "$L" "$S"; do lab__ns_base "$ns"; done
  for b in "${LAB_BACKENDS[@]}"; do lab__ns_base "$(lab_ns "$b")"; done

  # client <-> lb (lb side: data plane port "client")
  ip -n "$C" link add cli0 numtxqueues "$q" numrxqueues "$q" type veth \
    peer name lb-cli netns "$L" numtxqueues "$q" numrxqueues "$q"
  # lb <-> switch (lb side: data plane port "server")
  ip -n "$L" link add lb-srv numtxqueues "$q" numrxqueues "$q" type veth \
    peer name sw-lb netns "$S" numtxqueues "$q" numrxqueues "$q"

  # switch
  ip -n "$S" link add br0 type bridge stp_state 0 mcast_snooping 0
  ip netns exec "$S" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1 2>/dev/null || true
  ip -n "$S" link set br0 up
  ip -n "$S" link set sw-lb master br0
  lab__veth_kernel_side "$S" sw-lb

  # lb namespace: data plane ports have no address and no IPv6 link-local (the kernel must stay quiet
  # on them); it forwards what the data plane hands it through the TAPs.
  ip netns exec "$L" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv6.conf.lb-cli.disable_ipv6=1 net.ipv6.conf.lb-srv.disable_ipv6=1
  for ifn in lb-cli lb-srv; do
    # the data plane side: offloads off too, so that a kernel stand-in (baseline) behaves the same
    ip netns exec "$L" ethtool -K "$ifn" tx off >/dev/null 2>&1 || true
    ip -n "$L" link set "$ifn" mtu "$LAB_MTU" up
  done

  # client
  lab__veth_kernel_side "$C" cli0
  ip -n "$C" addr add "$LAB_CLI4/24" dev cli0
  ip -n "$C" addr add "$LAB_CLI6/64" dev cli0 nodad
  local r
  for r in 198.18.100.0/24 198.18.1.0/24; do ip -n "$C" route add "$r" via "$LAB_LBC4"; done
  for r in 2001:2:0:100::/64 2001:2:0:1::/64; do ip -n "$C" -6 route add "$r" via "$LAB_LBC6"; done

  # back-ends
  for b in "${LAB_BACKENDS[@]}"; do
    ns=$(lab_ns "$b")
    ip -n "$S" link add "sw-$b" type veth peer name eth0 netns "$ns"
    ip -n "$S" link set "sw-$b" master br0
    lab__veth_kernel_side "$S" "sw-$b"
    lab__veth_kernel_side "$ns" eth0
    ip -n "$ns" addr add "$(lab_be4 "$b")/24" dev eth0
    ip -n "$ns" addr add "$(lab_be6 "$b")/64" dev eth0 nodad
    ip -n "$ns" route add default via "$LAB_LBS4"
    ip -n "$ns" -6 route add default via "$LAB_LBS6"
    # DSR: the VIPs are local addresses, but never announced by ARP/NDP on eth0
    ip -n "$ns" addr add "$LAB_VIP4/32" dev lo
    ip -n "$ns" addr add "$LAB_VIP6/128" dev lo nodad
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
  done
  # IPv6 has no arp_ignore: a /128 on lo is not answered in NDP on eth0 by the Linux kernel
  # (NDP answers only for addresses of the interface the solicitation arrived on, unless proxy_ndp).
  lab_log "lab $LAB_P is up"
}

# lab_start_servers: HTTP (ports 80, 8080) and UDP echo (53) on each back-end, IPv4 and IPv6.
lab_start_servers() {
  local b
  for b in "${LAB_BACKENDS[@]}"; do
    lab_bg "$b" "$LAB_LOGDIR/$b-http.log" "$LAB_PY" "$LAB_DIR/servers/http_server.py" --name "$b" --port 80 --port 8080 >/dev/null
    lab_bg "$b" "$LAB_LOGDIR/$b-udp.log" "$LAB_PY" "$LAB_DIR/servers/udp_echo.py" --name "$b" --port 53 >/dev/null
  done
  # wait (bounded: 10 s) until every server listens
  for _ in $(seq 1 100); do
    local ok=1
    for b in "${LAB_BACKENDS[@]}"; do
      lab_exec "$b" ss -Hltn 'sport = :80' | grep -q . || ok=0
      lab_exec "$b" ss -Hltn 'sport = :8080' | grep -q . || ok=0
      lab_exec "$b" ss -Hlun 'sport = :53' | grep -q . || ok=0
    done
    [ $ok = 1 ] && { lab_log "servers are listening"; return 0; }
    sleep 0.1
  done
  lab_die "servers did not start, see $LAB_LOGDIR/*-http.log"
}

# lab_wait_ping NS ADDR SECONDS: bounded wait until ADDR answers a ping from namespace NS.
lab_wait_ping() {
  local n=$1 a=$2 secs=${3:-30}
  for _ in $(seq 1 "$secs"); do
    if lab_exec "$n" ping -n -c 1 -W 1 "$a" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

# lab_gen_config OUT: lab/lab.yaml with this run's --file-prefix.
lab_gen_config() {
  local out=$1
  sed -E "s/\"--file-prefix\", *\"[^\"]*\"/\"--file-prefix\", \"${LAB_P}\"/" "$LAB_DIR/lab.yaml" >"$out"
  grep -q "\"--file-prefix\", \"${LAB_P}\"" "$out" || lab_die "could not set --file-prefix in $out"
}

# lab_wait_proxy_listening PID NAME LOG [CPU]: bounded wait (5 s) until a proxy baseline listens on
# the nat VIP's port 80 in the lb namespace; dies if it exits or never listens.
# lab_run_proxy_baseline FUNCTION LAB_PREFIX [CPU [NICE]]: what lab/baseline-haproxy.sh and
# lab/baseline-nginx.sh do when run on their own rather than sourced (the lab must be up).
lab_run_proxy_baseline() {
  local start=$1
  shift
  [ $# -ge 1 ] || { echo "usage: $0 LAB_PREFIX [CPU [NICE]]   (the lab must be up: lab/labctl.sh up)" >&2; exit 2; }
  LAB_P=$1
  LAB_LOGDIR=${LAB_LOGDIR:-/tmp/$LAB_P}
  mkdir -p "$LAB_LOGDIR"
  LAB_PIDS=()
  "$start" "${2:-}" "${3:-}"
}

lab_wait_proxy_listening() {
  local pid=$1 name=$2 log=$3 cpu=${4:-} L _
  L=$(lab_ns lb)
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || lab_die "$name exited, see $log"
    if ip netns exec "$L" ss -Hltn "sport = :80" | grep -q "$LAB_VIP4_NAT"; then
      lab_log "$name baseline is active in $L (pid $pid${cpu:+, cpu $cpu})"
      return 0
    fi
    sleep 0.1
  done
  lab_die "$name does not listen on $LAB_VIP4_NAT:80, see $log"
}

# lab_afxdp_busy_poll: for fairwayd's AF_XDP ports, preferred busy polling as DPDK's AF_XDP guide
# sets it up: with the veths' NAPI deferred, the worker's own poll runs their XDP receive work on
# the worker's CPU instead of the sender's softirq on another. Only for fairwayd: the kernel
# baselines keep the plain veths.
lab_afxdp_busy_poll() {
  local ifn
  for ifn in lb-cli lb-srv; do
    lab_lb_exec sh -c "echo 2 > /sys/class/net/$ifn/napi_defer_hard_irqs &&
      echo 200000 > /sys/class/net/$ifn/gro_flush_timeout" || lab_die "cannot set busy polling on $ifn"
  done
}

# lab_start_fairwayd BINARY CONFIG LOG [STATS_JSON]: start fairwayd in the lb namespace; sets
# LAB_FWD_PID. Its counters are written as JSON to STATS_JSON (--stats-file) and stdout on exit.
lab_start_fairwayd() {
  local bin=$1 cfg=$2 log=$3 stats=${4:-}
  [ -x "$bin" ] || lab_die "fairwayd binary not found or not executable: $bin (build it, or set FAIRWAYD=path)"
  lab_afxdp_busy_poll
  ip netns exec "${LAB_P}-lb" "$bin" -c "$cfg" ${stats:+--stats-file "$stats"} </dev/null >"$log" 2>&1 &
  LAB_FWD_PID=$!
  LAB_PIDS+=("$LAB_FWD_PID")
  lab_log "fairwayd started (pid $LAB_FWD_PID, log $log)"
}

# lab_wait_ready SECONDS [PID]: the box answers a ping on its client-side address, through the data
# plane and the exception path (bounded). Fails early if PID (the daemon) exits. With LOG (the
# daemon's log), also waits until fairwayd says it has every back-end's MAC address.
lab_wait_ready() {
  local secs=${1:-30} pid=${2:-} log=${3:-} end=$((SECONDS + ${1:-30}))
  while [ $SECONDS -lt $end ]; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then lab_log "the daemon (pid $pid) exited"; return 1; fi
    if lab_exec cli ping -n -c 1 -W 1 "$LAB_LBC4" >/dev/null 2>&1 &&
      { [ -z "$log" ] || grep -q "neighbors: all" "$log"; }; then return 0; fi
    sleep 0.2
  done
  return 1
}

# lab_stop_pid PID [SECONDS]: SIGTERM, wait bounded, then SIGKILL.
lab_stop_pid() {
  local pid=$1 secs=${2:-5}
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((secs * 10))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

lab_down() {
  [ -n "${LAB_P:-}" ] || return 0
  local pid ns
  # TERM everything first, then wait (bounded) for all of them together
  for pid in "${LAB_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${LAB_PIDS[@]}"; do lab_stop_pid "$pid" 3; done
  LAB_PIDS=()
  # anything still running inside our namespaces (started by us: nothing else can be in them)
  for ns in $(ip netns list | awk '{print $1}' | grep "^${LAB_P}-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for ns in $(ip netns list | awk '{print $1}' | grep "^${LAB_P}-" || true); do
    ip netns del "$ns" 2>/dev/null || true
  done
  # DPDK leaves runtime files under /var/run/dpdk/<file-prefix>
  rm -rf "/var/run/dpdk/${LAB_P}" 2>/dev/null || true
  lab_log "lab $LAB_P is down"
}
