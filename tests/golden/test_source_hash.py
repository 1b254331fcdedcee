"""scheduler: source-hash: every new flow of a client goes to the same back-end (the Maglev table
is indexed by the client's address alone), and different clients still spread over the
back-ends. The same SYNs to a `maglev` service spread one client's flows (the negative control)."""
import pytest

import golden
from golden import B11, B12, B13, BACKENDS, VIP4, Case, from_router, service, tcp, via_backend

CLIENTS = [f"198.19.7.{10 + c}" for c in range(12)]
PORTS_PER_CLIENT = 6

SERVICES = [service("sticky", VIP4, 80, BACKENDS, scheduler="source-hash"),
            service("spread", VIP4, 81, BACKENDS)]


def syns(port):
    return [tcp(client, VIP4, 40000 + 7 * p, port, "S", seq=p)
            for client in CLIENTS for p in range(PORTS_PER_CLIENT)]


STICKY, SPREAD = syns(80), syns(81)
COUNT = len(CLIENTS) * PORTS_PER_CLIENT

CASES = [
    Case("source_hash_keeps_a_client_on_one_backend",
         f"{PORTS_PER_CLIENT} SYNs from each of {len(CLIENTS)} clients to a source-hash service",
         inputs={"client": [from_router() / p for p in STICKY]},
         expect={"server": [via_backend(f"f{i}", p, (B11, B12, B13)) for i, p in enumerate(STICKY)]},
         counters={"dsr_forwarded": COUNT, "flows_created": COUNT}),
    Case("maglev_spreads_a_clients_flows", "the same SYNs to a maglev service",
         inputs={"client": [from_router() / p for p in SPREAD]},
         expect={"server": [via_backend(f"f{i}", p, (B11, B12, B13)) for i, p in enumerate(SPREAD)]},
         counters={"dsr_forwarded": COUNT, "flows_created": COUNT}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_source_hash(case, results):
    golden.check(case, results[case.name])


def backends_per_client(result) -> list[set]:
    frames = result.outputs[("server", 0)]
    assert len(frames) == COUNT
    return [{frames[c * PORTS_PER_CLIENT + p][0:6] for p in range(PORTS_PER_CLIENT)}
            for c in range(len(CLIENTS))]


def test_each_client_sticks_and_clients_spread(results):
    per_client = backends_per_client(results["source_hash_keeps_a_client_on_one_backend"])
    assert all(len(macs) == 1 for macs in per_client), per_client
    assert len(set().union(*per_client)) >= 2, "every client on one back-end: not spread"


def test_without_source_hash_a_clients_flows_spread(results):
    """The check above can fail: under maglev (5-tuple hash) most clients use several back-ends."""
    per_client = backends_per_client(results["maglev_spreads_a_clients_flows"])
    assert sum(len(macs) > 1 for macs in per_client) >= len(CLIENTS) // 2, per_client
