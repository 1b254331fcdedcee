"""Deny lists: every packet from a denied client prefix to a service is dropped and counted
(`denied_client`), by the global list or the service's own; other clients and services pass."""
import pytest

import golden
from golden import (BACKENDS, CLIENT4, CLIENT6, SERVICES, VIP4, VIP6, Case, from_client, from_router,
                    service, tcp, udp, via_backend)

REMOTE = "198.19.7.7"  # beyond the router: not in 198.18.0.0/24
SYN = tcp(CLIENT4, VIP4, 40801, 80, "S", seq=1)
ACK = tcp(CLIENT4, VIP4, 40801, 80, "A", seq=2, ack=1)
FAR_SYN = tcp(REMOTE, VIP4, 40802, 80, "S", seq=1)
QUERY = udp(CLIENT4, VIP4, 40803, 53)
SYN6 = tcp(CLIENT6, VIP6, 40804, 80, "S", seq=1)

WEB_DENIES_CLIENT = [dict(service("web", VIP4, 80, BACKENDS), deny_clients=["198.18.0.0/24"]),
                     service("dns", VIP4, 53, BACKENDS, protocol="udp")]

CASES = [
    Case("global_deny", "the global list drops the client's SYN and ACK; a remote client passes",
         inputs={"client": [from_client() / SYN, from_client() / ACK, from_router() / FAR_SYN]},
         expect={"server": [via_backend("far", FAR_SYN)]},
         counters={"dsr_forwarded": 1, "flows_created": 1}, drops={"denied_client": 2},
         config={"deny_clients": ["198.18.0.0/24"]}),
    Case("service_deny", "web's list drops the client's SYN; its DNS query to the same VIP passes",
         inputs={"client": [from_client() / SYN, from_client() / QUERY]},
         expect={"server": [via_backend("q", QUERY)]},
         counters={"dsr_forwarded": 1, "flows_created": 1}, drops={"denied_client": 1},
         services=WEB_DENIES_CLIENT),
    Case("ipv6_prefix", "an IPv6 prefix denies the IPv6 client, not the IPv4 one",
         inputs={"client": [from_client() / SYN6, from_client() / SYN]},
         expect={"server": [via_backend("v4", SYN)]},
         counters={"dsr_forwarded": 1, "flows_created": 1}, drops={"denied_client": 1},
         config={"deny_clients": ["2001:2::/64"]}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_deny(case, results):
    golden.check(case, results[case.name])
