#!/bin/bash
# Instructions per packet of process_burst in bench/pipeline_micro_bench, counted by callgrind
# (the VM has no PMU): process_burst's inclusive count / (its calls x 32 frames per burst).
#   bench/instructions_per_packet.sh build-rel/bench/pipeline_micro_bench 'DsrEstablished/1000$'
set -euo pipefail
if ! command -v valgrind >/dev/null; then
  echo "instructions_per_packet.sh: needs valgrind (apt-get install valgrind)" >&2
  exit 2
fi
BINARY=$(realpath "$1")
FILTER=$2
OUT=$(mktemp /tmp/fairway-callgrind.XXXXXX)
trap 'rm -f "$OUT"' EXIT
valgrind --tool=callgrind --toggle-collect='fairway::process_burst*' --callgrind-out-file="$OUT" \
  "$BINARY" --benchmark_filter="$FILTER" --benchmark_min_time=0.05 >/dev/null 2>&1
total=$(callgrind_annotate "$OUT" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
calls=$(callgrind_annotate --tree=caller "$OUT" | grep -E '< .*run\(.*\([0-9,]+x\)' |
  grep -oE '\([0-9,]+x\)' | head -1 | tr -d '(),x')
echo "$FILTER: $((total / (calls * 32))) instructions per packet ($total in $calls bursts)"
