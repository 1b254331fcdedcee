#!/usr/bin/env bash
# Command-line face of lab/lib.sh, for programs (tests/lab/labnet.py) that own the teardown.
#
#   lab/labctl.sh up PREFIX          namespaces, links, addresses, servers (torn down again on failure)
#   lab/labctl.sh baseline PREFIX    nftables stand-in for fairwayd (lab/baseline-nftables.sh)
#   lab/labctl.sh config PREFIX OUT  lab/lab.yaml with this run's --file-prefix
#   lab/labctl.sh down PREFIX        kill everything in the lab's namespaces, delete them
#
# Interactive use: prefer lab/demo.sh, which tears down by itself (trap on EXIT INT TERM).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/lib.sh
source "$here/lib.sh"
# shellcheck source=lab/baseline-nftables.sh
source "$here/baseline-nftables.sh"
[ $# -ge 2 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
cmd=$1 LAB_P=$2
LAB_LOGDIR=${LAB_LOGDIR:-/tmp/$LAB_P}
LAB_PIDS=()
case $cmd in
  up)
    [ "$(id -u)" = 0 ] || lab_die "the lab needs root"
    mkdir -p "$LAB_LOGDIR"
    trap 'lab_down' ERR INT TERM
    lab_up
    lab_start_servers
    trap - ERR INT TERM ;;
  baseline) lab_baseline_nftables ;;
  config) [ $# = 3 ] || lab_die "config needs OUT"; lab_gen_config "$3" ;;
  down) lab_down ;;
  *) lab_die "unknown command $cmd" ;;
esac
