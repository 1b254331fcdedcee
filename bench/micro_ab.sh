#!/bin/bash
# Compares two builds of bench/pipeline_micro_bench on a shared, noisy machine: runs A and B
# alternately for ROUNDS rounds and prints each benchmark's median items/s and the ratio B/A.
#   bench/micro_ab.sh BEFORE_BINARY AFTER_BINARY ['/1000000'] [5]
set -euo pipefail
A=$1
B=$2
FILTER=${3:-/1000000}
ROUNDS=${4:-5}
for _ in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    "${!side}" --benchmark_filter="$FILTER" --benchmark_min_time=0.5 2>/dev/null | grep '^BM_' |
      awk -v side=$side '{for (i = 1; i <= NF; i++) if ($i ~ /items_per_second=/) {
        split($i, kv, "="); sub(/M\/s$/, "", kv[2]); print side, $1, kv[2]}}'
  done
done | /usr/bin/python3 -c '
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in sys.stdin:
    side, name, mpps = line.split()
    runs[(name, side)].append(float(mpps))
for name in sorted({n for n, _ in runs}):
    a, b = statistics.median(runs[(name, "A")]), statistics.median(runs[(name, "B")])
    print(f"{name:32s} A {a:6.2f}  B {b:6.2f} Mpps  B/A {b / a:5.3f}")
'
