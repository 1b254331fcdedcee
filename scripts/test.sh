#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, then runs
#   1. unit tests (GoogleTest via ctest) under AddressSanitizer + UndefinedBehaviorSanitizer,
#   2. configuration checks (fairwayd --check on good and bad files),
#   3. golden packet tests (scapy -> fairwayd with net_pcap ports -> compared field by field),
#   4. lab tests (network namespaces, net_af_xdp on veth, real kernels and servers),
#   5. fuzzing (libFuzzer on the parser, the pipeline and the config loader, bounded in time).
#   6. the Debian package, installed by apt into a fresh Debian 12 root (debootstrap).
# Needs root (namespaces, AF_XDP, TAP). Exits non-zero if anything fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" --sanitize

echo "== unit tests (ASan + UBSan)"
ctest --test-dir "$root/build-asan" --output-on-failure -j"$(nproc)"

echo "== fuzzing (${FUZZ_SECONDS:-15}s per target)"
FUZZ_SECONDS="${FUZZ_SECONDS:-15}" "$root/scripts/fuzz.sh"

echo "== packet, configuration and lab tests"
export FAIRWAYD="$root/build/fairwayd"
# Debian's python3 has scapy and pytest; a python3 earlier on PATH (pyenv) may not.
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/config tests/golden tests/sim tests/api tests/agent tests/lab tests/package
