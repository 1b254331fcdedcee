"""Two workers (the driver sets eal.lcores "0@0,1@1,2@1"), two queues per net_pcap port (one
rx_pcap and one tx_pcap per queue, in order): worker i reads and sends on queue i, counts alone."""
import pytest

import golden
from golden import (B11, B12, CLIENT4, NAT_BACKENDS, VIP4, VIP4_NAT, Case, Pick, from_backend,
                    from_client, tcp, to_backend, to_client, udp, via_backend)

SYN = lambda dst, port: tcp(CLIENT4, dst, 42001, 80, "S", seq=1000)
NAT_SYN = lambda b: tcp(CLIENT4, b.ip4, 42001, 8080, "S", seq=1000)
SYNACK = lambda src, port, ttl=64: tcp(src, CLIENT4, port, 42001, "SA", seq=5000, ack=1001,
                                       ttl=ttl)
FLOWS = [tcp(CLIENT4, VIP4, 42100 + n, 80, "S", seq=n) for n in range(3)]
DATAGRAMS = [udp(CLIENT4, VIP4, 42200 + n, 53) for n in range(2)]

CASES = [
    Case("nat_reply_on_other_worker",
         "nat SYN on queue 0; the back-ends' replies on queue 1 still get VIP:80 as source",
         workers=2,
         inputs={"client:0": [from_client() / SYN(VIP4_NAT, 80)],
                 "server:1": [from_backend(B11) / SYNACK(B11.ip4, 8080),
                              from_backend(B12) / SYNACK(B12.ip4, 8080)]},
         expect={"server:0": [Pick("f", NAT_BACKENDS, lambda b: to_backend(b) / NAT_SYN(b))],
                 "client:1": [to_client() / SYNACK(VIP4_NAT, 80, ttl=63)] * 2},
         counters={"nat_forwarded": 1, "flows_created": 1, "nat_reversed": 2,
                   "transit_forwarded": 2},
         worker_counters={0: {"nat_forwarded": 1, "flows_created": 1, "rx_packets": 1,
                              "tx_packets": 1},
                          1: {"nat_reversed": 2, "transit_forwarded": 2, "rx_packets": 2,
                              "tx_packets": 2}}),
    Case("flows_per_worker", "3 TCP flows on queue 0, 2 UDP flows on queue 1: counted apart",
         workers=2,
         inputs={"client:0": [from_client() / p for p in FLOWS],
                 "client:1": [from_client() / p for p in DATAGRAMS]},
         expect={"server:0": [via_backend(f"t{n}", p) for n, p in enumerate(FLOWS)],
                 "server:1": [via_backend(f"u{n}", p) for n, p in enumerate(DATAGRAMS)]},
         counters={"dsr_forwarded": 5, "flows_created": 5},
         worker_counters={0: {"dsr_forwarded": 3, "flows_created": 3, "rx_packets": 3},
                          1: {"dsr_forwarded": 2, "flows_created": 2, "rx_packets": 2}}),
    Case("replies_leave_on_own_queue", "a reset made by worker 1 leaves on queue 1 of its port",
         workers=2,
         inputs={"client:1": [from_client() / tcp(CLIENT4, VIP4, 42300, 81, "S", seq=41)]},
         expect={"client:1": [to_client() / tcp(VIP4, CLIENT4, 81, 42300, "RA", seq=0, ack=42,
                                                window=0, id=0, ip_flags="DF")]},
         counters={"resets_sent": 1},
         worker_counters={0: {"rx_packets": 0, "tx_packets": 0},
                          1: {"resets_sent": 1, "rx_packets": 1, "tx_packets": 1}}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_multiworker(case, results):
    golden.check(case, results[case.name])
