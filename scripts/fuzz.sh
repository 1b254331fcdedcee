#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into build-fuzz/, then runs
# each one on a copy of its seed corpus for FUZZ_SECONDS (default 20) seconds.
# Exits non-zero if a target crashes, leaks, times out or fails an invariant; the input that did
# it is kept in the work directory printed at the end (copy it to tests/fuzz/crashes/).
# Usage: scripts/fuzz.sh [TARGET...]   (default: parse_fuzz pipeline_fuzz burst_fuzz config_fuzz
# report_fuzz)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${FUZZ_SECONDS:-20}"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(parse_fuzz pipeline_fuzz burst_fuzz config_fuzz report_fuzz)

cmake -S "$root" -B "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DFAIRWAY_FUZZ=ON -DFAIRWAY_SANITIZE=ON >/dev/null
cmake --build "$root/build-fuzz" -j"$(nproc)" --target "${targets[@]}"

work="$(mktemp -d -t fairway-fuzz.XXXXXX)"
failed=()
for target in "${targets[@]}"; do
  corpus_name="${target%_fuzz}"
  mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
  cp -r "$root/tests/fuzz/corpus/$corpus_name/." "$work/$target/corpus/"
  echo "== $target: ${seconds}s on tests/fuzz/corpus/$corpus_name"
  if ! "$root/build-fuzz/tests/fuzz/$target" "$work/$target/corpus" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$work/$target/artifacts/" >"$work/$target/log" 2>&1; then
    failed+=("$target")
    tail -n 60 "$work/$target/log"
    echo "!! $target failed; reproducer(s):" "$work/$target/artifacts/"*
  fi
  # The last status line: runs, coverage, features, corpus size, exec/s.
  grep -E '^#[0-9]+' "$work/$target/log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
    "$work/$target/log" || true
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: FAILED: ${failed[*]} (logs and inputs in $work)"
  exit 1
fi
rm -rf "$work"
echo "fuzz: all targets ran ${seconds}s without a finding"
