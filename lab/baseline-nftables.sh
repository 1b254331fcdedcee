#!/usr/bin/env bash
# Kernel stand-in for fairwayd in the lab (and the nftables baseline of the lab benchmarks).
#
#   source lab/baseline-nftables.sh; lab_baseline_nftables     # on a lab brought up by lab_up
#   lab/baseline-nftables.sh PREFIX                             # same, for the lab with prefix PREFIX
#
# Instead of the data plane, the kernel of the lb namespace does the work:
#   - the box's addresses go directly on lb-cli / lb-srv (no TAPs);
#   - nat VIPs (198.18.100.2, 2001:2:0:100::2 port 80): nftables DNAT, numgen random mod 6 -> 1:2:3
#     (lab/baseline.nft), replies un-NATed by conntrack; the nat VIPs are local addresses (lo) so
#     that any other port is answered by the kernel itself (TCP reset);
#   - dsr VIPs (198.18.100.1, 2001:2:0:100::1, all ports): weighted ECMP routes toward the
#     back-ends with an L4 multipath hash (weights 1:2:3) - the back-ends hold the VIP on lo and
#     answer directly, through their gateway, like L2 DSR. An unserved port is reset by the
#     back-end the flow hashes to.
lab_baseline_nftables() {
  local L; L="${LAB_P:?}-lb"
  command -v nft >/dev/null || lab_die "nft not found: apt-get install nftables (lab/packages.txt)"
  ip netns exec "$L" sysctl -qw net.ipv6.conf.lb-cli.disable_ipv6=0 net.ipv6.conf.lb-srv.disable_ipv6=0 \
    net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1
  ip -n "$L" addr add "$LAB_LBC4/24" dev lb-cli
  ip -n "$L" addr add "$LAB_LBC6/64" dev lb-cli nodad
  ip -n "$L" addr add "$LAB_LBS4/24" dev lb-srv
  ip -n "$L" addr add "$LAB_LBS6/64" dev lb-srv nodad
  ip -n "$L" addr add "$LAB_VIP4_NAT/32" dev lo
  ip -n "$L" addr add "$LAB_VIP6_NAT/128" dev lo nodad
  ip -n "$L" route add "$LAB_VIP4/32" \
    nexthop via 198.18.1.11 weight 1 nexthop via 198.18.1.12 weight 2 nexthop via 198.18.1.13 weight 3
  ip -n "$L" -6 route add "$LAB_VIP6/128" \
    nexthop via 2001:2:0:1::11 weight 1 nexthop via 2001:2:0:1::12 weight 2 nexthop via 2001:2:0:1::13 weight 3
  ip netns exec "$L" nft -f "$LAB_DIR/baseline.nft" || lab_die "nft -f baseline.nft failed"
  lab_log "nftables baseline is active in $L"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  [ $# = 1 ] || { echo "usage: $0 LAB_PREFIX   (the lab must be up: lab/labctl.sh up)" >&2; exit 2; }
  LAB_P=$1
  # shellcheck source=lab/lib.sh
  source "$(dirname "$0")/lib.sh"
  lab_baseline_nftables
fi
