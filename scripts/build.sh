#!/usr/bin/env bash
# Configures and builds Fairway into build/ (and, with --sanitize, the unit tests with ASan+UBSan
# into build-asan/).
#   scripts/build.sh                   everything: programs, unit tests, benchmarks
#   scripts/build.sh --sanitize        also the unit tests with ASan+UBSan into build-asan/
#   scripts/build.sh --programs        only fairwayd and fairwayctl (what the demo runs)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="$(nproc)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [[ "${1:-}" == "--programs" ]]; then
  cmake --build "$root/build" -j"$jobs" --target fairwayd fairwayctl
  exit 0
fi
cmake --build "$root/build" -j"$jobs"
if [[ "${1:-}" == "--sanitize" ]]; then
  cmake -S "$root" -B "$root/build-asan" -DFAIRWAY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build "$root/build-asan" -j"$jobs"
fi
