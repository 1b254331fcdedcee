#!/usr/bin/env bash
# The Fairway lab demo: a client, the load balancer and three back-ends in network namespaces.
#
#   sudo lab/demo.sh                      # fairwayd from build/fairwayd (build it first)
#   sudo FAIRWAYD=/path/fairwayd lab/demo.sh
#   sudo FAIRWAY_LB=nftables lab/demo.sh  # the same traffic through the kernel stand-in
#   DEMO_CONNS=300                        # connections per IPv4 service (bounded: 1..5000)
#
# Brings the lab up, starts fairwayd in the lb namespace (log in /tmp/<prefix>/fairwayd.log), waits
# until the box answers a ping through the data plane, sends HTTP (one connection per request and
# keep-alive), UDP, IPv6 and a connection to an unserved port, stops fairwayd and prints what each
# back-end served, the UDP answers, the reset, a back-end drained and back under load (fairwayctl),
# and fairwayd's counters. Everything is torn down at
# the end, also on failure and on Ctrl-C. Exit status 0 when every check passed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then exec sudo -E "$0" "$@"; fi
  echo "lab/demo.sh needs root (network namespaces)" >&2; exit 1
fi

# shellcheck source=lab/lib.sh
source "$here/lib.sh"
# shellcheck source=lab/baseline-nftables.sh
source "$here/baseline-nftables.sh"

LB=${FAIRWAY_LB:-fairwayd}
FAIRWAYD=${FAIRWAYD:-$root/build/fairwayd}
CONNS=${DEMO_CONNS:-300}
if ! [[ "$CONNS" =~ ^[0-9]+$ ]] || [ "$CONNS" -lt 1 ] || [ "$CONNS" -gt 5000 ]; then
  lab_die "DEMO_CONNS must be 1..5000"
fi
case $LB in
  fairwayd) [ -x "$FAIRWAYD" ] || lab_die "fairwayd not found at $FAIRWAYD: build it (scripts/build.sh) or set FAIRWAYD=path" ;;
  nftables) command -v nft >/dev/null || lab_die "nft not found: apt-get install nftables" ;;
  *) lab_die "FAIRWAY_LB must be fairwayd or nftables" ;;
esac
for t in ping nstat; do command -v "$t" >/dev/null || lab_die "missing $t (see lab/packages.txt)"; done

lab_init   # prefix, log dir, trap: lab_down on EXIT INT TERM
OUT=$LAB_LOGDIR
lab_up
lab_start_servers

if [ "$LB" = nftables ]; then
  lab_baseline_nftables
  lab_wait_ready 10 || lab_die "the nftables stand-in does not answer on $LAB_LBC4"
  LBDESC="nftables stand-in (lab/baseline-nftables.sh)"
else
  lab_gen_config "$OUT/fairwayd.yaml"
  lab_start_fairwayd "$FAIRWAYD" "$OUT/fairwayd.yaml" "$OUT/fairwayd.log" "$OUT/fairwayd-stats.json"
  lab_log "waiting (at most 60 s) for the box to answer $LAB_LBC4 through the data plane"
  if ! lab_wait_ready 60 "$LAB_FWD_PID" "$OUT/fairwayd.log"; then
    lab_log "fairwayd did not become ready; last lines of $OUT/fairwayd.log:"
    tail -n 30 "$OUT/fairwayd.log" >&2 || true
    exit 1
  fi
  LBDESC="fairwayd ($FAIRWAYD)"
fi
lab_log "ready; sending traffic"

client() { lab_cli_exec "$LAB_PY" "$here/client.py" "$@"; }
c6=$(( CONNS / 5 > 0 ? CONNS / 5 : 1 ))
{
  lab_cli_exec ping -n -c 3 -i 0.2 -W 1 "$LAB_LBC4" >/dev/null 2>&1 && echo '{"cmd":"ping","host":"'$LAB_LBC4'","ok":true}' || echo '{"cmd":"ping","host":"'$LAB_LBC4'","ok":false}'
  lab_cli_exec ping -n -c 3 -i 0.2 -W 1 "$LAB_LBC6" >/dev/null 2>&1 && echo '{"cmd":"ping","host":"'$LAB_LBC6'","ok":true}' || echo '{"cmd":"ping","host":"'$LAB_LBC6'","ok":false}'
} >"$OUT/ping.jsonl"
client http "$LAB_VIP4" 80 -n "$CONNS" --deadline 120 >"$OUT/web-dsr.json"
client http "$LAB_VIP4_NAT" 80 -n "$CONNS" --deadline 120 >"$OUT/web-nat.json"
client http "$LAB_VIP6" 80 -n "$c6" --deadline 60 >"$OUT/web6-dsr.json"
client http "$LAB_VIP6_NAT" 80 -n "$c6" --deadline 60 >"$OUT/web6-nat.json"
client http "$LAB_VIP4" 80 -n 30 --requests 5 --deadline 60 >"$OUT/keepalive-dsr.json"
client http "$LAB_VIP4_NAT" 80 -n 30 --requests 5 --deadline 60 >"$OUT/keepalive-nat.json"
client udp "$LAB_VIP4" 53 -n 60 --deadline 30 >"$OUT/dns-dsr.json"
client udp "$LAB_VIP6" 53 -n 60 --deadline 30 >"$OUT/dns6-dsr.json"
# 9000-byte datagrams leave the client in 7 fragments (MTU 1500); the echo comes back in as many.
client udp "$LAB_VIP4" 53 -n 20 --size 9000 --deadline 30 >"$OUT/dns-dsr-big.json"
client udp "$LAB_VIP6" 53 -n 20 --size 9000 --deadline 30 >"$OUT/dns6-dsr-big.json"
client refused "$LAB_VIP4" 81 --timeout 1 >"$OUT/reset.json"
client refused "$LAB_VIP6" 81 --timeout 1 >"$OUT/reset6.json"

if [ "$LB" = fairwayd ]; then
  # A live change under load: be3 drained and back through fairwayctl while a client keeps
  # opening and using connections to the nat VIP; none may fail or change back-end.
  lab_log "live change: draining be3 of web-nat under load, then back in service"
  ctl() { lab_lb_exec "$(dirname "$FAIRWAYD")/fairwayctl" "$@"; }
  client churn "$LAB_VIP4_NAT" 80 --seconds 8 --long 3 >"$OUT/churn.json" &
  churn_pid=$!
  sleep 2
  ctl backend set web-nat 198.18.1.13:8080 --drain >"$OUT/drain.txt"
  client http "$LAB_VIP4_NAT" 80 -n 60 --deadline 60 >"$OUT/drained-nat.json"
  ctl services >"$OUT/services-drained.txt"
  ctl backend set web-nat 198.18.1.13:8080 --undrain >>"$OUT/drain.txt"
  wait "$churn_pid"
  ctl status >"$OUT/status.txt"
  lab_log "stopping fairwayd (SIGTERM); it prints its counters on exit"
  lab_stop_pid "$LAB_FWD_PID" 10
fi

rc=0
"$LAB_PY" "$here/demo_report.py" --dir "$OUT" --lb "$LBDESC" --prefix "$LAB_P" || rc=$?
lab_log "logs and raw results kept in $OUT"
exit $rc   # the trap tears the lab down
