"""TCP resets: to a VIP port no service serves (RFC 9293 3.10.7.1 numbers), never to a reset,
and the missing-flow policies: `strict` resets, `consistent` forwards to the Maglev choice."""
import pytest

import golden
from golden import (CLIENT4, VIP4, VIP4_NAT, VIP4_STRICT, Case, from_client, tcp, to_client,
                    via_backend)


def reset(vip, vport, cport, flags, seq=0, ack=0):
    """What the load balancer sends back: from the VIP, no options, ID 0 with DF, TTL 64."""
    return tcp(vip, CLIENT4, vport, cport, flags, seq=seq, ack=ack, window=0, id=0, ip_flags="DF")


CONSISTENT = [(tcp(CLIENT4, VIP4, 40600 + n, 80, "S", seq=100 * n),
               tcp(CLIENT4, VIP4, 40600 + n, 80, "A", seq=100 * n + 1, ack=1)) for n in range(4)]

CASES = [
    Case("syn_to_unserved_port", "SYN to VIP:81 -> RST|ACK seq 0, ack = SEG.SEQ + 1, MACs swapped",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 40501, 81, "S", seq=1000)]},
         expect={"client": [to_client() / reset(VIP4, 81, 40501, "RA", ack=1001)]},
         counters={"resets_sent": 1}),
    Case("syn_with_data", "a SYN carrying 5 bytes: ack = SEG.SEQ + 1 + 5",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 40502, 81, "S", seq=0xfffffffe,
                                                load=b"early")]},
         expect={"client": [to_client() / reset(VIP4, 81, 40502, "RA", ack=4)]},
         counters={"resets_sent": 1}),
    Case("fin_without_ack", "a FIN without ACK with 3 bytes: ack = SEG.SEQ + 3 + 1",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 40503, 81, "F", seq=500,
                                                load=b"bye")]},
         expect={"client": [to_client() / reset(VIP4, 81, 40503, "RA", ack=504)]},
         counters={"resets_sent": 1}),
    Case("syn_with_ip_options", "a SYN with IPv4 options: the reset carries none",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 40511, 81, "S", seq=1000,
                                                options=b"\x01\x01\x01\x00")]},
         expect={"client": [to_client() / reset(VIP4, 81, 40511, "RA", ack=1001)]},
         counters={"resets_sent": 1}),
    Case("data_to_unserved_port", "a data segment with ACK -> RST with seq = SEG.ACK, no ACK flag",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 40504, 81, "PA", seq=2000,
                                                ack=3000, load=b"0123456789")]},
         expect={"client": [to_client() / reset(VIP4, 81, 40504, "R", seq=3000)]},
         counters={"resets_sent": 1}),
    Case("unserved_port_on_nat_vip", "SYN to port 443 of the nat VIP: reset from that VIP",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4_NAT, 40505, 443, "S", seq=77)]},
         expect={"client": [to_client() / reset(VIP4_NAT, 443, 40505, "RA", ack=78)]},
         counters={"resets_sent": 1}),
    Case("reset_not_answered", "a RST to an unserved port: nothing sent",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 40506, 81, "R", seq=9)]},
         expect={}, drops={"reset_not_answered": 1}),
    Case("reset_ack_not_answered", "a RST|ACK to an unserved port: nothing sent either",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 40507, 81, "RA", seq=9, ack=9)]},
         expect={}, drops={"reset_not_answered": 1}),
    Case("strict_ack_without_flow", "strict service: an ACK without flow -> RST seq = SEG.ACK",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4_STRICT, 40508, 80, "A", seq=1001,
                                                ack=7777)]},
         expect={"client": [to_client() / reset(VIP4_STRICT, 80, 40508, "R", seq=7777)]},
         counters={"resets_sent": 1}, drops={"strict_no_flow": 1}),
    Case("strict_established_flow", "strict service: SYN then ACK of one flow are both forwarded",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4_STRICT, 40509, 80, "S", seq=1),
                            from_client() / tcp(CLIENT4, VIP4_STRICT, 40509, 80, "A", seq=2,
                                                ack=2)]},
         expect={"server": [via_backend("f", tcp(CLIENT4, VIP4_STRICT, 40509, 80, "S", seq=1)),
                            via_backend("f", tcp(CLIENT4, VIP4_STRICT, 40509, 80, "A", seq=2,
                                                 ack=2))]},
         counters={"dsr_forwarded": 2, "flows_created": 1}),
    Case("consistent_ack_without_flow", "consistent service: an ACK without flow is forwarded",
         inputs={"client": [from_client() / tcp(CLIENT4, VIP4, 40510, 80, "A", seq=5, ack=5)]},
         expect={"server": [via_backend("f", tcp(CLIENT4, VIP4, 40510, 80, "A", seq=5, ack=5))]},
         counters={"dsr_forwarded": 1, "flows_consistent": 1, "flows_created": 1}),
    Case("consistent_is_maglev_choice",
         "4 flows: SYN on worker 0, the ACK on worker 1 (no flow there): same back-end",
         workers=2,
         inputs={"client:0": [from_client() / s for s, _ in CONSISTENT],
                 "client:1": [from_client() / a for _, a in CONSISTENT]},
         expect={"server:0": [via_backend(f"f{n}", s) for n, (s, _) in enumerate(CONSISTENT)],
                 "server:1": [via_backend(f"f{n}", a) for n, (_, a) in enumerate(CONSISTENT)]},
         counters={"dsr_forwarded": 8, "flows_created": 8, "flows_consistent": 4},
         worker_counters={0: {"dsr_forwarded": 4, "flows_created": 4},
                          1: {"dsr_forwarded": 4, "flows_created": 4, "flows_consistent": 4}}),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_reset(case, results):
    golden.check(case, results[case.name])
