#!/bin/bash
# Steady-state instructions per packet of fairway::process_burst in one micro benchmark (callgrind:
# the VM has no PMU), from two runs of different lengths: (instructions2 - instructions1) / (bursts2 - bursts1) / 32.
# The difference cancels the set-up and the first pass that fills the flow table. Deterministic
# enough (+-1) to compare two builds on a shared machine, where wall-clock figures are noise.
#   bench/instructions_per_packet.sh build/bench/pipeline_micro_bench 'BM_DsrEstablished/1000$'
set -eu  # no pipefail: `head` closes the pipes early on purpose
if ! command -v valgrind >/dev/null; then
  echo "instructions_per_packet.sh: needs valgrind (apt-get install valgrind)" >&2
  exit 2
fi
binary=$(realpath "$1")
filter=$2
run() {
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$binary" --benchmark_filter="$filter" --benchmark_min_time="$1" >/dev/null 2>&1
  local total calls
  # process_burst's inclusive count: its own line in the caller tree, marked "*".
  total=$(callgrind_annotate --inclusive=yes --tree=caller "$out" |
    awk '/\*  .*fairway::process_burst\(/ {gsub(",", "", $1); print $1; exit}')
  # process_burst's callers are the "<" lines right above its own "*" line; their "(Nx)" counts
  # add up to its calls.
  calls=$(callgrind_annotate --inclusive=yes --tree=caller "$out" | awk '
    /^ *[0-9,]+ \([ 0-9.]+%\)  < / { if (match($0, /\([0-9,]+x\)/)) {
        n = substr($0, RSTART + 1, RLENGTH - 3); gsub(",", "", n); pending += n }; next }
    /\*  .*fairway::process_burst\(/ { print pending; exit }
    { pending = 0 }')
  rm -f "$out"
  echo "$total $calls"
}
read -r t1 c1 < <(run 0.02)
read -r t2 c2 < <(run 0.2)
echo "$filter: $(((t2 - t1) / ((c2 - c1) * 32))) instructions per packet ($c1 / $c2 bursts)"
