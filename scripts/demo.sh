#!/usr/bin/env bash
# The demo: installs what it needs, builds fairwayd, then runs the namespace lab
# (clients, the load balancer on net_af_xdp, three back-ends) and shows what happened.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" --programs  # only what the demo runs: fairwayd, fairwayctl
FAIRWAYD="$root/build/fairwayd" exec "$root/lab/demo.sh" "$@"
