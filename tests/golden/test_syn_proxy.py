"""The SYN proxy of nat services (docs/ARCHITECTURE.md, "SYN proxy"): the SYN answered with a
cookie, the back-end's side opened in the client's name, sequence numbers translated both ways,
checksums right, a bad cookie dropped and counted.

Cookies are computed here as fairwayd computes them (SipHash-2-4 and BLAKE2b from libsodium, via
ctypes) from the key configured for the case, at the wall clock's 64-second period; the daemon may
run in the next period, so a cookie it writes is expected for either.

Cases whose client and back-end frames must interleave rely on the worker's poll order: a burst
of up to 32 frames from the client port, then one from the server port, then the client port
again. 30 frames for another MAC (dropped, not_for_us) hold the client's later segments back
until the back-end's have been read."""
import ctypes
import ctypes.util
import struct
import time

import pytest
from scapy.all import Ether, IPv6, TCP

import golden
from golden import (B11, CLIENT4, CLIENT6, CLIENT_MAC, CLIENT_PORT_MAC, VIP4_NAT, VIP6_NAT, Case,
                    Pick, from_backend, from_client, service, tcp, to_backend, to_client)

SECRET = b"golden syn cookie secret 0123456789"
CONFIG = {"syn_cookies": {"key": SECRET.decode()}}
PERIOD = 64
MSS_CLASSES = (536, 1220, 1300, 1360, 1400, 1440, 1460, 8960)

_sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert _sodium.sodium_init() >= 0


def _key() -> bytes:
    out = ctypes.create_string_buffer(16)
    _sodium.crypto_generichash(out, ctypes.c_size_t(16), SECRET, ctypes.c_ulonglong(len(SECRET)),
                               None, ctypes.c_size_t(0))
    return out.raw


KEY = _key()


def _address16(text: str) -> bytes:
    import ipaddress
    a = ipaddress.ip_address(text)
    return (ipaddress.IPv6Address("::ffff:" + text) if a.version == 4 else a).packed


def cookie(client, vip, sport, dport, isn, clock, mss_class) -> int:
    message = (_address16(client) + _address16(vip) +
               struct.pack("<HHIIB", sport, dport, isn, clock & 0xffffffff, mss_class))
    digest = ctypes.create_string_buffer(8)
    _sodium.crypto_shorthash(digest, message, ctypes.c_ulonglong(len(message)), KEY)
    mac = struct.unpack("<I", digest.raw[:4])[0] & 0xffffff
    return (clock & 31) << 27 | mss_class << 24 | mac


CLOCK = int(time.time()) // PERIOD
CLOCKS = (CLOCK, CLOCK + 1)  # the daemon runs within seconds: this period or the next


def proxy_service(vip=VIP4_NAT, mode="always"):
    return service("web-proxy" + ("6" if ":" in vip else ""), vip, 80, (B11,), mode="nat",
                   backend_port=8080, syn_proxy=mode)


SERVICES = [proxy_service(), proxy_service(VIP6_NAT)]
ISN, B_ISN = 1000, 7_000_000


def mss(pkt, value=1460):
    p = pkt.copy()
    p["TCP"].options = [("MSS", value), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None),
                        ("WScale", 7)]
    return p


def written(src, dst, sport, dport, flags, seq, ack, window=8192, mss_value=None):
    """A segment the proxy writes itself: no IP options, ID 0 with DF, TTL 64, one MSS option."""
    if ":" in src:
        ip = IPv6(src=src, dst=dst, hlim=64)
    else:
        from scapy.all import IP
        ip = IP(src=src, dst=dst, id=0, flags="DF", ttl=64)
    options = [("MSS", mss_value)] if mss_value else []
    return ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window,
                    options=options)


def syn_ack_pick(client, vip, sport, isn, mss_class, var="clock"):
    mss_value = 1460 if ":" not in vip else 1440
    return Pick(var, CLOCKS, lambda clock: to_client() / written(
        vip, client, 80, sport, "SA", cookie(client, vip, sport, 80, isn, clock, mss_class),
        isn + 1, mss_value=mss_value))


def filler(n=30):
    """Frames for another MAC: dropped (not_for_us), they fill the client port's first burst."""
    return [Ether(src=CLIENT_MAC, dst="02:00:00:00:77:77") / tcp(CLIENT4, VIP4_NAT, 1, 80, "A")
            for _ in range(n)]


def client_seg(sport, flags, seq, ack, load=b"", client=CLIENT4, vip=VIP4_NAT):
    return from_client() / tcp(client, vip, sport, 80, flags, seq=seq, ack=ack, load=load)


C = {port: cookie(CLIENT4, VIP4_NAT, port, 80, ISN, CLOCK, 6) for port in range(40900, 40910)}
C6 = cookie(CLIENT6, VIP6_NAT, 40950, 80, ISN, CLOCK, 6)
REQUEST, RESPONSE = b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n" + b"y" * 200

CASES = [
    Case("cookie_syn_ack", "a SYN with options is answered with a cookie SYN-ACK, MSS only",
         inputs={"client": [mss(client_seg(40900, "S", ISN, 0))]},
         expect={"client": [syn_ack_pick(CLIENT4, VIP4_NAT, 40900, ISN, 6)]},
         counters={"syn_cookies_sent": 1}, config=CONFIG),
    Case("cookie_syn_ack_ipv6", "IPv6: the SYN-ACK carries MSS 1440 and a valid checksum",
         inputs={"client": [mss(from_client() / tcp(CLIENT6, VIP6_NAT, 40950, 80, "S", seq=ISN))]},
         expect={"client": [syn_ack_pick(CLIENT6, VIP6_NAT, 40950, ISN, 6)]},
         counters={"syn_cookies_sent": 1}, config=CONFIG),
    Case("cookie_ack_opens_backend", "the cookie's ACK becomes the back-end's SYN (ISN, MSS)",
         inputs={"client": [mss(client_seg(40901, "S", ISN, 0)),
                            client_seg(40901, "A", ISN + 1, C[40901] + 1)]},
         expect={"client": [syn_ack_pick(CLIENT4, VIP4_NAT, 40901, ISN, 6)],
                 "server": [to_backend(B11) / written(CLIENT4, B11.ip4, 40901, 8080, "S", ISN, 0,
                                                      mss_value=1460)]},
         counters={"syn_cookies_sent": 1, "syn_cookies_validated": 1, "flows_created": 1,
                   "syn_proxy_backend_syns": 1}, config=CONFIG),
    Case("handshake_and_translation",
         "SYN, cookie ACK; the back-end's SYN-ACK answered in the client's name; data both ways "
         "with sequence numbers translated",
         inputs={"client": [mss(client_seg(40902, "S", ISN, 0)),
                            client_seg(40902, "A", ISN + 1, C[40902] + 1)] + filler() +
                           [client_seg(40902, "PA", ISN + 1, C[40902] + 1, REQUEST)],
                 "server": [from_backend(B11) / tcp(B11.ip4, CLIENT4, 8080, 40902, "SA",
                                                    seq=B_ISN, ack=ISN + 1),
                            from_backend(B11) / tcp(B11.ip4, CLIENT4, 8080, 40902, "PA",
                                                    seq=B_ISN + 1, ack=ISN + 1, load=RESPONSE)]},
         expect={"client": [syn_ack_pick(CLIENT4, VIP4_NAT, 40902, ISN, 6),
                            to_client() / tcp(VIP4_NAT, CLIENT4, 80, 40902, "PA", seq=C[40902] + 1,
                                              ack=ISN + 1, load=RESPONSE, ttl=63)],
                 "server": [to_backend(B11) / written(CLIENT4, B11.ip4, 40902, 8080, "S", ISN, 0,
                                                      mss_value=1460),
                            to_backend(B11) / written(CLIENT4, B11.ip4, 40902, 8080, "A", ISN + 1,
                                                      B_ISN + 1),
                            to_backend(B11) / tcp(CLIENT4, B11.ip4, 40902, 8080, "PA", seq=ISN + 1,
                                                  ack=B_ISN + 1, load=REQUEST)]},
         counters={"syn_cookies_sent": 1, "syn_cookies_validated": 1, "flows_created": 1,
                   "syn_proxy_backend_syns": 1, "syn_proxy_backend_acks": 1, "nat_forwarded": 1,
                   "nat_reversed": 1, "transit_forwarded": 1},
         drops={"not_for_us": 30}, config=CONFIG),
    Case("handshake_ipv6", "IPv6: the back-end's handshake and the translated reply",
         inputs={"client": [client_seg(40950, "A", ISN + 1, C6 + 1, client=CLIENT6, vip=VIP6_NAT)],
                 "server": [from_backend(B11) / tcp(B11.ip6, CLIENT6, 8080, 40950, "SA",
                                                    seq=B_ISN, ack=ISN + 1),
                            from_backend(B11) / tcp(B11.ip6, CLIENT6, 8080, 40950, "PA",
                                                    seq=B_ISN + 1, ack=ISN + 1, load=RESPONSE)]},
         expect={"server": [to_backend(B11) / written(CLIENT6, B11.ip6, 40950, 8080, "S", ISN, 0,
                                                      mss_value=1460),
                            to_backend(B11) / written(CLIENT6, B11.ip6, 40950, 8080, "A", ISN + 1,
                                                      B_ISN + 1)],
                 "client": [to_client() / tcp(VIP6_NAT, CLIENT6, 80, 40950, "PA", seq=C6 + 1,
                                              ack=ISN + 1, load=RESPONSE, ttl=63)]},
         counters={"syn_cookies_validated": 1, "flows_created": 1, "syn_proxy_backend_syns": 1,
                   "syn_proxy_backend_acks": 1, "nat_reversed": 1, "transit_forwarded": 1},
         config=CONFIG),
    Case("bad_cookie", "ACKs with a wrong cookie, or a sequence number the cookie does not vouch "
         "for, are dropped and counted; nothing reaches the back-end",
         inputs={"client": [client_seg(40903, "A", ISN + 1, C[40903] + 2),
                            client_seg(40903, "A", ISN + 2, C[40903] + 1),
                            client_seg(40904, "PA", ISN + 1, 12345, b"x")]},
         expect={}, drops={"bad_syn_cookie": 3}, config=CONFIG),
    Case("data_before_backend_answers", "client data before the back-end's SYN-ACK: the SYN is "
         "sent again, the data left for the client to send again",
         inputs={"client": [client_seg(40905, "A", ISN + 1, C[40905] + 1),
                            client_seg(40905, "PA", ISN + 1, C[40905] + 1, REQUEST)]},
         expect={"server": [to_backend(B11) / written(CLIENT4, B11.ip4, 40905, 8080, "S", ISN, 0,
                                                      mss_value=1460)] * 2},
         counters={"syn_cookies_validated": 1, "flows_created": 1, "syn_proxy_backend_syns": 2},
         config=CONFIG),
    Case("under_pressure_calm", "syn_proxy: under_pressure with a calm table: plain nat",
         services=[proxy_service(mode="under_pressure")],
         inputs={"client": [client_seg(40906, "S", ISN, 0)]},
         expect={"server": [to_backend(B11) / tcp(CLIENT4, B11.ip4, 40906, 8080, "S", seq=ISN)]},
         counters={"nat_forwarded": 1, "flows_created": 1}, config=CONFIG),
]


@pytest.mark.parametrize("case", golden.params(CASES))
def test_syn_proxy(case, results):
    golden.check(case, results[case.name])
