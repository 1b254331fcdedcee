"""Capability pools: new flows from a pool's client prefixes go only to the pool's back-ends,
other clients to every back-end; a pool's flows keep their back-end like any other."""
import pytest

import golden
from golden import (B11, B12, B13, BACKENDS, VIP4, Case, from_client, from_router, service, tcp,
                    via_backend)

POOL_CLIENT = "198.18.0.2"    # in 198.18.0.0/25, the pool's clients (on the client port)
OTHER_CLIENT = "198.19.7.7"   # elsewhere (behind the router)

# web: b12 only for the pool's clients; all three back-ends for the others.
SERVICES = [service("web", VIP4, 80, BACKENDS,
                    pools=[{"name": "special", "clients": ["198.18.0.0/25"],
                            "backends": [B12.ip4]}])]

POOLED = [tcp(POOL_CLIENT, VIP4, 42000 + i, 80, "S", seq=i) for i in range(24)]
OTHERS = [tcp(OTHER_CLIENT, VIP4, 43000 + i, 80, "S", seq=i) for i in range(24)]
POOLED_FLOW = [tcp(POOL_CLIENT, VIP4, 44000, 80, "S", seq=1),
               tcp(POOL_CLIENT, VIP4, 44000, 80, "A", seq=2, ack=1),
               tcp(POOL_CLIENT, VIP4, 44000, 80, "PA", seq=2, ack=1, load=b"GET / HTTP/1.1\r\n\r\n")]

CASES = [
    Case("pool_clients_reach_only_pool_backends", "24 SYNs from a pool's client: all to b12",
         inputs={"client": [from_client() / p for p in POOLED]},
         expect={"server": [via_backend(f"f{i}", p, (B12,)) for i, p in enumerate(POOLED)]},
         counters={"dsr_forwarded": 24, "flows_created": 24}),
    Case("other_clients_reach_every_backend", "24 SYNs from outside the pool: spread over all three",
         inputs={"client": [from_router() / p for p in OTHERS]},
         expect={"server": [via_backend(f"f{i}", p, (B11, B12, B13)) for i, p in enumerate(OTHERS)]},
         counters={"dsr_forwarded": 24, "flows_created": 24}),
    Case("pool_flow_keeps_its_backend", "SYN, ACK and data of a pool client's flow: b12 each time",
         inputs={"client": [from_client() / p for p in POOLED_FLOW]},
         expect={"server": [via_backend("f", p, (B12,)) for p in POOLED_FLOW]},
         counters={"dsr_forwarded": 3, "flows_created": 1}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_pools(case, results):
    golden.check(case, results[case.name])


def test_other_clients_are_not_confined(results):
    """The second case is not vacuous: outside the pool, back-ends other than b12 get flows."""
    frames = results["other_clients_reach_every_backend"].outputs[("server", 0)]
    macs = {frame[0:6] for frame in frames}
    assert len(frames) == 24 and len(macs) == 3, macs
