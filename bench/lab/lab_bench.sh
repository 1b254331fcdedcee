#!/usr/bin/env bash
# Lab benchmark: HTTP through Fairway (dsr, nat) versus nftables DNAT (kube-proxy style), HAProxy
# (mode tcp) and nginx stream, on the namespace lab of docs/LAB.md, same topology and back-ends.
#
#   sudo bench/lab/lab_bench.sh                     # defaults: 3 rounds, 8 s per wrk run (~8 minutes)
#   sudo bench/lab/lab_bench.sh -d 5 -r 1           # quick look
#   options: -d SECONDS (1..60)  -r ROUNDS (1..10)  -c CONNECTIONS (1..1000)
#            -n NICE (-20..19; default -20: the benchmark's processes, all of them, before other work)
#            -l LBS (comma list of fairwayd,nftables,haproxy,nginx; default all)
#            -o DIR (results; default /tmp/<prefix>)  -m FILE (also write the Markdown table to FILE)
#   FAIRWAYD=/path/fairwayd (default build/fairwayd)
#   FAIRWAY_BENCH_FLOW_CAPACITY=N   experiment: fairwayd's flow_table.capacity (default: its own)
#   FAIRWAY_BENCH_NAPI_THREADED=1   variant: the veth XDP receive work of fairwayd's ports on CPU 1
#                                   (threaded NAPI, see bench_napi_to_lb_cpu) instead of CPU 0
#
# Each round visits every load balancer in turn (interleaved), each on a freshly built lab (own
# prefix, no state carried between runs: conntrack, TIME_WAIT, neighbour caches):
#   back-ends  nginx (1 process each) serving a small static body naming the back-end on :80/:8080
#   fairwayd   lab/lab.yaml plus eal.lcores "0@1,1@1" (main and worker lcore on CPU 1), under
#              taskset -c 1 (so that DPDK's control threads are on CPU 1 too);
#              wrk to the dsr VIP 198.18.100.1:80 and to the nat VIP 198.18.100.2:80
#   nftables   lab/baseline-nftables.sh: DNAT on 198.18.100.2:80; also its weighted ECMP route for
#              the dsr VIP 198.18.100.1 (reported as "kernel ECMP", not counted as a competitor)
#   haproxy    lab/baseline-haproxy.sh (mode tcp, 1 thread, taskset -c 1) on 198.18.100.2:80
#   nginx      lab/baseline-nginx.sh (stream, 1 process, taskset -c 1) on 198.18.100.2:80
# and for each target: wrk -c 32 -t 1 -d Ds --latency (keep-alive), then the same with
# -H 'Connection: close' (one connection per request), wrk pinned to CPU 0.
#
# CPU placement (the machine has 2 CPUs): CPU 1 = the load balancer alone, CPU 0 = wrk and the
# back-ends. Kernel packet processing on veth runs in softirq on the CPU that queued the packet
# unless RPS moves it: every veth's RPS mask sends its receive processing to the CPU of its
# namespace's side (lb-cli, lb-srv -> CPU 1; cli0, sw-*, eth0 -> CPU 0). So nftables' forwarding
# and the proxies' TCP receive work run on CPU 1, the client's and back-ends' on CPU 0. Exception:
# with fairwayd the veths lb-cli/lb-srv run native XDP (NAPI), which RPS does not steer: the XDP
# program and the copy into the AF_XDP ring run on the sending CPU (CPU 0) - a cost Fairway does
# not pay on CPU 1 here but that takes CPU 0 from the client and back-ends (on a NIC it would be
# the NIC's DMA). FAIRWAY_BENCH_NAPI_THREADED=1 moves it to CPU 1 instead (where it then competes
# with the busy-polling worker under CFS).
#
# Priority: the machine is shared (other work may run on both CPUs), and a busy-polling worker
# shares its CPU with any runnable task under CFS: each time it is descheduled, every flow through it
# waits (measured: at nice -10 the worker still lost about a third of CPU 1 and its p99 was 6-15 ms;
# at nice -20, 1 ms). All of the benchmark's processes (fairwayd, haproxy, nginx, the back-ends,
# wrk) run in a session of their own whose autogroup gets nice -20 (-n), the nearest this machine
# has to an isolated core; kernel softirq work (nftables) preempts tasks anyway.
#
# Lab rules: own namespaces (lab/lib.sh prefix), 198.18.0.0/15 only, every load bounded (wrk -d
# plus a timeout), processes stopped by pid, everything torn down by the trap, even on failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
CMDLINE="bench/lab/lab_bench.sh${*:+ $*}"

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then exec sudo -E "$0" "$@"; fi
  echo "bench/lab/lab_bench.sh needs root (network namespaces)" >&2; exit 1
fi

DURATION=8 ROUNDS=3 CONNS=32 LBS=fairwayd,nftables,haproxy,nginx OUTDIR='' MDFILE='' NICE=-20
NAPI_THREADED=${FAIRWAY_BENCH_NAPI_THREADED:-0}
usage() { sed -n '2,13p' "$0" >&2; exit 2; }
while getopts "d:r:c:l:o:m:n:h" opt; do
  case $opt in
    d) DURATION=$OPTARG ;; r) ROUNDS=$OPTARG ;; c) CONNS=$OPTARG ;; l) LBS=$OPTARG ;;
    o) OUTDIR=$OPTARG ;; m) MDFILE=$OPTARG ;; n) NICE=$OPTARG ;; *) usage ;;
  esac
done
num_in() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
num_in "$DURATION" 1 60 || { echo "-d must be 1..60" >&2; exit 2; }
num_in "$ROUNDS" 1 10 || { echo "-r must be 1..10" >&2; exit 2; }
num_in "$CONNS" 1 1000 || { echo "-c must be 1..1000" >&2; exit 2; }
if ! [[ "$NICE" =~ ^-?[0-9]+$ ]] || [ "$NICE" -lt -20 ] || [ "$NICE" -gt 19 ]; then echo "-n must be -20..19" >&2; exit 2; fi

# With autogroup scheduling (kernel.sched_autogroup_enabled=1) nice only ranks tasks inside their
# session; against other sessions' work the session's autogroup weight counts. So the benchmark
# runs in a session of its own (setsid) whose autogroup gets nice NICE. Signals to the outer
# process are passed on (by pid) so that Ctrl-C still tears the lab down.
if [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo 0)" = 1 ] && [ -z "${LAB_BENCH_INNER:-}" ]; then
  LAB_BENCH_INNER=1 LAB_BENCH_CMDLINE="$CMDLINE" setsid "$0" "$@" &
  inner=$!
  trap 'kill -TERM "$inner" 2>/dev/null || true' INT TERM
  rc=0
  while kill -0 "$inner" 2>/dev/null; do wait "$inner" && rc=0 || rc=$?; done
  exit "$rc"
fi
CMDLINE=${LAB_BENCH_CMDLINE:-$CMDLINE}
if [ -w /proc/self/autogroup ]; then echo "$NICE" >/proc/self/autogroup 2>/dev/null || true; fi
IFS=, read -r -a LB_LIST <<<"$LBS"
for lb in "${LB_LIST[@]}"; do
  case $lb in fairwayd | nftables | haproxy | nginx) ;; *) echo "unknown load balancer: $lb" >&2; exit 2 ;; esac
done

LB_CPU=1 OTHER_CPU=0
PY=/usr/bin/python3
HELPER="$here/labbench.py"
FAIRWAYD=${FAIRWAYD:-$root/build/fairwayd}

# shellcheck source=lab/lib.sh
source "$root/lab/lib.sh"
# shellcheck source=lab/baseline-nftables.sh
source "$root/lab/baseline-nftables.sh"
# shellcheck source=lab/baseline-haproxy.sh
source "$root/lab/baseline-haproxy.sh"
# shellcheck source=lab/baseline-nginx.sh
source "$root/lab/baseline-nginx.sh"

[ "$(nproc)" -ge 2 ] || lab_die "needs at least 2 CPUs (load balancer on CPU 1, the rest on CPU 0)"
for t in wrk nginx taskset timeout curl; do command -v "$t" >/dev/null || lab_die "missing $t (lab/packages.txt)"; done
for lb in "${LB_LIST[@]}"; do
  case $lb in
    fairwayd) [ -x "$FAIRWAYD" ] || lab_die "fairwayd not found at $FAIRWAYD (build it or set FAIRWAYD=)" ;;
    haproxy) command -v haproxy >/dev/null || lab_die "missing haproxy (lab/packages.txt)" ;;
    nftables) command -v nft >/dev/null || lab_die "missing nft (lab/packages.txt)" ;;
  esac
done

LAB_P="fwb$(printf '%03d' $((RANDOM % 1000)))$(printf '%02d' $(($$ % 100)))"   # 8 chars + slot number
[ -z "$OUTDIR" ] || LAB_LOGDIR=$OUTDIR
lab_init   # log dir, trap: lab_down of the current lab on EXIT INT TERM
BASE=$LAB_P OUT=$LAB_LOGDIR
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
: >"$RESULTS.wrk.txt"
per_slot=$(( (${#LB_LIST[@]} + 1) * 2 * (DURATION + 1) + ${#LB_LIST[@]} * 12 ))
lab_log "lab benchmark: ${LB_LIST[*]}; $ROUNDS rounds, $DURATION s per run, -c $CONNS, nice $NICE; about $(( ROUNDS * per_slot / 60 + 1 )) min; results in $OUT"

version_of() {
  case $1 in
    haproxy) haproxy -v 2>/dev/null | head -1 | awk '{print "HAProxy " $3}' ;;
    nginx) nginx -v 2>&1 | sed 's/.*nginx\//nginx /' ;;
    wrk) dpkg-query -W -f 'wrk ${Version}' wrk 2>/dev/null ;;
    nft) nft --version 2>/dev/null ;;
  esac
}
fw_rev="$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown), binary of $(date -u -r "$FAIRWAYD" '+%F %H:%M' 2>/dev/null || echo '?')${FAIRWAY_BENCH_FLOW_CAPACITY:+, flow_table.capacity $FAIRWAY_BENCH_FLOW_CAPACITY}"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- per-lab setup ------------------------------------------------------------------------------

# RPS: receive processing of each veth on the CPU of its side (see the header).
bench_pin_softirqs() {
  local lbmask othermask b
  lbmask=$(printf '%x' $((1 << LB_CPU))) othermask=$(printf '%x' $((1 << OTHER_CPU)))
  rps() { lab_exec "$1" sh -c "for q in /sys/class/net/$2/queues/rx-*; do echo $3 > \$q/rps_cpus; done"; }
  rps cli cli0 "$othermask"
  rps lb lb-cli "$lbmask"
  rps lb lb-srv "$lbmask"
  rps sw sw-lb "$othermask"
  for b in "${LAB_BACKENDS[@]}"; do rps sw "sw-$b" "$othermask"; rps "$b" eth0 "$othermask"; done
}

# Many short connections: a wide ephemeral port range and TIME_WAIT reuse on the connecting sides.
bench_tcp_tuning() {
  local n
  for n in cli lb; do
    lab_exec "$n" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
  done
}

# nginx back-ends: one process each on CPU 0, a small static body naming the back-end.
bench_start_backends() {
  local b d
  for b in "${LAB_BACKENDS[@]}"; do
    d="$LAB_LOGDIR/nginx-$b"
    mkdir -p "$d"
    cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 20000; }
http {
    access_log off;
    client_body_temp_path $d/tmp-body;
    proxy_temp_path $d/tmp-proxy;
    fastcgi_temp_path $d/tmp-fastcgi;
    uwsgi_temp_path $d/tmp-uwsgi;
    scgi_temp_path $d/tmp-scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    default_type text/plain;
    server {
        listen 80 backlog=4096;
        listen 8080 backlog=4096;
        listen [::]:80 backlog=4096;
        listen [::]:8080 backlog=4096;
        location / { return 200 "$b\n"; }
    }
}
EOF
    lab_bg "$b" "$d/stdout.log" nice -n "$NICE" taskset -c "$OTHER_CPU" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" >/dev/null
  done
  local _ ok
  for _ in $(seq 1 50); do  # bounded: 5 s
    ok=1
    for b in "${LAB_BACKENDS[@]}"; do
      lab_exec "$b" ss -Hltn 'sport = :80' | grep -q . || ok=0
      lab_exec "$b" ss -Hltn 'sport = :8080' | grep -q . || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  lab_die "nginx back-ends did not start, see $LAB_LOGDIR/nginx-be*/error.log"
}

# bench_check URL: 12 requests (bounded) answer with a back-end's name.
bench_check() {
  local url=$1 i body seen=""
  for i in $(seq 1 12); do
    body=$(lab_cli_exec curl -s -m 2 "$url" || true)
    [[ "$body" =~ ^be[123]$ ]] || lab_die "$url answered '${body}' (request $i)"
    seen="$seen $body"
  done
  lab_log "$url answers:$seen"
}

# With fairwayd, lb-cli/lb-srv run native XDP: the veth's NAPI poll (XDP program, copy into the
# AF_XDP ring) would run in softirq on the sending CPU (CPU 0), where RPS steers the other load
# balancers' receive work to CPU 1. Threaded NAPI moves it into a kernel thread per device, pinned
# here to the load balancer's CPU at the benchmark's priority: the same place as RPS puts it for
# the others. The threads are told apart from any other lab's by appearing when we switch it on.
bench_napi_to_lb_cpu() {
  local before after pid dev n=0
  before=$(pgrep -d ' ' '^napi/' || true)
  for dev in lb-cli lb-srv; do lab_lb_exec sh -c "echo 1 > /sys/class/net/$dev/threaded" ||
    lab_die "cannot switch $dev to threaded NAPI"; done
  after=$(pgrep '^napi/' || true)
  for pid in $after; do
    case " $before " in *" $pid "*) continue ;; esac
    grep -qE '^napi/lb-(cli|srv)-' "/proc/$pid/comm" 2>/dev/null || continue
    taskset -p -c "$LB_CPU" "$pid" >/dev/null && renice -n "$NICE" -p "$pid" >/dev/null && n=$((n + 1))
  done
  [ "$n" -ge 2 ] || lab_die "threaded NAPI: expected 2 new napi/lb-* threads, found $n"
  lab_log "veth NAPI of lb-cli/lb-srv in $n kernel threads on CPU $LB_CPU"
}

bench_fairwayd_config() {
  local out=$1
  lab_gen_config "$out"
  sed -i -E 's/^eal: *\{ *args:/eal: { lcores: "0@1,1@1", args:/' "$out"
  grep -q 'lcores: "0@1,1@1"' "$out" || lab_die "could not set eal.lcores in $out"
  if [ -n "${FAIRWAY_BENCH_FLOW_CAPACITY:-}" ]; then
    echo "flow_table: { capacity: $FAIRWAY_BENCH_FLOW_CAPACITY }" >>"$out"
  fi
}

# measure LB MODE URL [PID [FWD_LOG]]: warm-up (1 s, not recorded), keep-alive run, close run.
measure() {
  local lb=$1 mode=$2 url=$3 pid=${4:-0} fwdlog=${5:-}
  bench_check "$url"
  lab_cli_exec nice -n "$NICE" taskset -c "$OTHER_CPU" timeout -k 2 10 wrk -c "$CONNS" -t 1 -d 1s "$url" >/dev/null 2>&1 || true
  local close
  for close in "" --close; do
    "$PY" "$HELPER" measure --ns "$(lab_ns cli)" --url "$url" --duration "$DURATION" --conns "$CONNS" $close \
      --lb "$lb" --mode "$mode" --round "$ROUND" --out "$RESULTS" --pid "$pid" ${fwdlog:+--fwd-log "$fwdlog"} \
      --lb-cpu "$LB_CPU" --client-cpu "$OTHER_CPU" --nice "$NICE" || lab_log "measure $lb $mode failed"
  done
}

SLOT=0
run_slot() {
  local lb=$1
  SLOT=$((SLOT + 1))
  LAB_P="${BASE}${SLOT}"
  LAB_LOGDIR="$OUT/r${ROUND}-$lb"
  mkdir -p "$LAB_LOGDIR"
  if ip netns list | grep -q "^${LAB_P}-"; then lab_die "namespaces with prefix $LAB_P already exist"; fi
  lab_up
  bench_pin_softirqs
  bench_tcp_tuning
  bench_start_backends
  case $lb in
    fairwayd)
      local cfg="$LAB_LOGDIR/fairwayd.yaml" log="$LAB_LOGDIR/fairwayd.log"
      bench_fairwayd_config "$cfg"
      lab_afxdp_busy_poll
      ip netns exec "$(lab_ns lb)" nice -n "$NICE" taskset -c "$LB_CPU" "$FAIRWAYD" -c "$cfg" --stats-file "$LAB_LOGDIR/fairwayd-stats.json" \
        </dev/null >"$log" 2>&1 &
      local fpid=$!
      LAB_PIDS+=("$fpid")
      lab_wait_ready 60 "$fpid" "$log" || { tail -n 30 "$log" >&2; lab_die "fairwayd did not become ready"; }
      [ "$NAPI_THREADED" = 1 ] && bench_napi_to_lb_cpu
      measure fairwayd dsr "http://$LAB_VIP4/" "$fpid" "$log"
      measure fairwayd nat "http://$LAB_VIP4_NAT/" "$fpid" "$log"
      lab_stop_pid "$fpid" 10
      ;;
    nftables)
      lab_baseline_nftables
      lab_wait_ready 10 || lab_die "the nftables stand-in does not answer"
      measure nftables dnat "http://$LAB_VIP4_NAT/"
      measure kernel ecmp "http://$LAB_VIP4/"
      ;;
    haproxy)
      lab_baseline_haproxy "$LB_CPU" "$NICE"
      measure haproxy tcp "http://$LAB_VIP4_NAT/" "$LAB_HAPROXY_PID"
      ;;
    nginx)
      lab_baseline_nginx "$LB_CPU" "$NICE"
      measure nginx stream "http://$LAB_VIP4_NAT/" "$LAB_NGINX_PID"
      ;;
  esac
  lab_down
}

for ROUND in $(seq 1 "$ROUNDS"); do
  for lb in "${LB_LIST[@]}"; do
    lab_log "round $ROUND/$ROUNDS: $lb"
    run_slot "$lb"
  done
done
LAB_P=$BASE   # nothing left up; the trap's lab_down finds nothing

"$PY" - "$RESULTS.meta.json" <<EOF
import json, sys
json.dump({"command": """${FAIRWAY_BENCH_NAPI_THREADED:+FAIRWAY_BENCH_NAPI_THREADED=$FAIRWAY_BENCH_NAPI_THREADED }${FAIRWAY_BENCH_FLOW_CAPACITY:+FAIRWAY_BENCH_FLOW_CAPACITY=$FAIRWAY_BENCH_FLOW_CAPACITY }$CMDLINE""", "nice": $NICE, "loadavg": "$LOADAVG_START", "loadavg_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "versions": "fairwayd $fw_rev (DPDK 22.11, net_af_xdp on veth), $(version_of haproxy), $(version_of nginx), $(version_of wrk), $(version_of nft)."},
          open(sys.argv[1], "w"))
EOF
"$PY" "$HELPER" report "$RESULTS" --markdown "${MDFILE:-$OUT/lab-bench.md}" --command "$CMDLINE"
lab_log "raw results: $RESULTS (wrk output: $RESULTS.wrk.txt); Markdown: ${MDFILE:-$OUT/lab-bench.md}"
