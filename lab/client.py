#!/usr/bin/env python3
"""Lab traffic client: run inside the client namespace (ip netns exec <P>-cli ...).

Every command is bounded in count and in time (--deadline) and prints one JSON object.

  client.py http  HOST PORT [-n 300] [--requests 1] [--timeout 2] [--deadline 60]
      n TCP connections, one after the other; on each, --requests HTTP/1.1 requests (keep-alive,
      the last one with "Connection: close"). Result: per back-end counts (by connection), errors,
      and per connection the back-end/client/server/n fields of every response body.
  client.py udp   HOST PORT [-n 30] [--same-socket] [--size 0] [--timeout 1] [--deadline 30]
      n datagrams, each from a new socket (new source port) unless --same-socket; the echo names
      the back-end; records the address the answer came from. --size pads each datagram to that
      many bytes (larger than the MTU: it leaves in fragments); the echo must carry all of it.
  client.py churn HOST PORT [--seconds 30] [--long 4] [--stop-file F] [--timeout 2] [--short-rate R]
      connections opened and used without pause until --seconds pass or F exists: --long threads
      each keep a keep-alive connection for 20 requests (one every 50 ms) and then open the next,
      one more thread opens one-request connections back to back (at most R per second). Result:
      connections, requests,
      failed connections by error, and connections whose answers came from more than one back-end.
  client.py refused HOST PORT [--timeout 1]
      one connect(): "refused" (TCP reset), "timeout" or "connected", with the elapsed time.
  client.py reuse HOST PORT --ports LO-HI [--seconds 20] [--rate 100] [--stop-file F] [--timeout 2]
      one-request connections that cycle through the client source ports LO..HI (at most 64),
      each bound explicitly, so every port is used again within a fraction of a second while the
      load balancer still holds the previous connection's entry; the server closes first
      ("Connection: close"), the client then aborts (SO_LINGER 0: a reset, no TIME_WAIT), so the
      port is free at once. Result: totals, errors, and a record per connection: [start (Unix
      time), source port, back-end or null, error or null].
  client.py steady HOST PORT [--hold 20] [--hold-every 1] [--rate 50] [--threads 4]
                   [--seconds 30] [--stop-file F] [--timeout 3]
      --hold keep-alive connections opened at the start and kept for the whole run, a request on
      each every --hold-every seconds (a broken one is reported, not reopened; one whose answers
      come from another back-end or another server-side connection counts as switched), and
      one-request connections from new source ports at --rate per second in all (--threads
      loops, each paced at its share, so that one slow connection holds none of the others
      back). Result: totals, the held connections, and a record per short connection: [start
      (Unix time), connect+request milliseconds, error or null].
  client.py bulk  HOST PORT [--bytes 4000000] [--conns 1] [--timeout 5] [--deadline 60]
      --conns connections at once to an echo server (tests/lab/test_lab_syn_proxy.py starts one on
      the back-ends): on each, --bytes random bytes sent while the echo is read back at the same
      time, then a half-close; the echo must come back complete and identical (SHA-256 of both)
      before the server's FIN. Result: per connection bytes sent and received, intact, connect
      milliseconds, seconds, MB/s, error.
"""
import argparse
import json
import os
import socket
import sys
import time


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def fmt_addr(sa):
    """(host, port, ...) -> '198.18.0.2:4321' or '[2001:2::2]:4321', as the servers print it"""
    return ("[%s]:%d" if ":" in sa[0] else "%s:%d") % (sa[0], sa[1])


def parse_body(body):
    """'be2 client=198.18.0.2:4321 server=198.18.100.1:80 n=1' -> dict"""
    parts = body.strip().split()
    d = {"backend": parts[0] if parts else None}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        d[k] = v
    return d


def read_response(sock, buf):
    """Read one HTTP/1.1 response with Content-Length from sock. Returns (status, body, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response headers")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed in the body")
        buf += chunk
    return status, buf[:length].decode(), buf[length:]


def cmd_http(a):
    fam = family_of(a.host)
    hosthdr = "[%s]" % a.host if fam == socket.AF_INET6 else a.host
    end = time.monotonic() + a.deadline
    counts, errors, conns = {}, {}, []
    for i in range(a.n):
        if time.monotonic() > end:
            errors["deadline"] = errors.get("deadline", 0) + (a.n - i)
            break
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        answers = []
        try:
            s.connect((a.host, a.port))
            local = s.getsockname()
            buf = b""
            for r in range(a.requests):
                close = "close" if r == a.requests - 1 else "keep-alive"
                req = "GET /%d/%d HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n" % (i, r, hosthdr, close)
                s.sendall(req.encode())
                status, body, buf = read_response(s, buf)
                d = parse_body(body)
                d["status"] = status
                answers.append(d)
            be = answers[0]["backend"]
            counts[be] = counts.get(be, 0) + 1
            conns.append({"local": fmt_addr(local), "answers": answers})
        except Exception as e:  # counted, the run goes on (bounded)
            k = type(e).__name__
            errors[k] = errors.get(k, 0) + 1
        finally:
            s.close()
    ok = sum(counts.values())
    return {"cmd": "http", "host": a.host, "port": a.port, "n": a.n, "requests": a.requests,
            "ok": ok, "backends": counts, "errors": errors, "conns": conns}


def cmd_udp(a):
    fam = family_of(a.host)
    end = time.monotonic() + a.deadline
    counts, errors, answers = {}, {}, []
    s = None
    for i in range(a.n):
        if time.monotonic() > end:
            errors["deadline"] = errors.get("deadline", 0) + (a.n - i)
            break
        if s is None or not a.same_socket:
            if s is not None:
                s.close()
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(a.timeout)
        payload = ("q%d" % i).encode()
        if a.size > len(payload):
            payload += b" " + bytes(48 + (i + k) % 64 for k in range(a.size - len(payload) - 1))
        t0 = time.monotonic()
        try:
            s.sendto(payload, (a.host, a.port))
            while True:  # skip late answers to earlier queries on a shared socket
                data, frm = s.recvfrom(65535)
                if data.endswith(b" " + payload):
                    break
            rtt = time.monotonic() - t0
            be = data.split(b" ", 1)[0].decode()
            counts[be] = counts.get(be, 0) + 1
            answers.append({"backend": be, "from": frm[0], "from_port": frm[1],
                            "local_port": s.getsockname()[1], "rtt_ms": round(rtt * 1000, 3)})
        except Exception as e:
            k = type(e).__name__
            errors[k] = errors.get(k, 0) + 1
    if s is not None:
        s.close()
    return {"cmd": "udp", "host": a.host, "port": a.port, "n": a.n, "size": a.size,
            "ok": sum(counts.values()),
            "backends": counts, "errors": errors, "answers": answers}


def cmd_churn(a):
    import threading
    fam = family_of(a.host)
    hosthdr = "[%s]" % a.host if fam == socket.AF_INET6 else a.host
    end = time.monotonic() + min(a.seconds, 300)
    lock = threading.Lock()
    totals = {"connections": 0, "requests": 0, "failed": 0, "switched": 0}
    errors, backends, failures = {}, {}, []

    def running():
        return time.monotonic() < end and not (a.stop_file and os.path.exists(a.stop_file))

    def one_connection(requests, pause):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        seen, done = set(), 0
        try:
            s.connect((a.host, a.port))
            buf = b""
            for r in range(requests):
                close = "close" if r == requests - 1 else "keep-alive"
                s.sendall(("GET /churn/%d HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n"
                           % (r, hosthdr, close)).encode())
                status, body, buf = read_response(s, buf)
                if status != 200:
                    raise ConnectionError("HTTP status %d" % status)
                seen.add(parse_body(body)["backend"])
                done += 1
                if pause and r != requests - 1:
                    time.sleep(pause)
            error = None
        except Exception as e:  # counted: the test asserts there are none
            error = "%s: %s" % (type(e).__name__, e)
        finally:
            s.close()
        with lock:
            totals["connections"] += 1
            totals["requests"] += done
            if len(seen) > 1:
                totals["switched"] += 1
            for be in seen:
                backends[be] = backends.get(be, 0) + 1
            if error:
                totals["failed"] += 1
                k = error.split(":")[0]
                errors[k] = errors.get(k, 0) + 1
                if len(failures) < 20:
                    failures.append({"at": round(time.time(), 3), "error": error,
                                     "backends": sorted(seen), "requests_done": done})

    def long_loop():
        while running():
            one_connection(20, 0.05)

    def short_loop():
        # at most --short-rate connections per second (0: as fast as it goes), paced evenly
        for _ in paced(a.short_rate, running):
            one_connection(1, 0)

    threads = [threading.Thread(target=long_loop) for _ in range(a.long)]
    threads.append(threading.Thread(target=short_loop))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return dict(cmd="churn", host=a.host, port=a.port, errors=errors, backends=backends,
                failures=failures, **totals)


def abort_close(s):
    """Close with a reset (SO_LINGER 0): no TIME_WAIT, the port is free again at once."""
    import struct
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def one_request(s, hosthdr, path, close=True):
    """One GET on a connected socket; returns the parsed body (raises on anything else than 200)."""
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n"
               % (path, hosthdr, "close" if close else "keep-alive")).encode())
    status, body, _ = read_response(s, b"")
    if status != 200:
        raise ConnectionError("HTTP status %d" % status)
    return parse_body(body)


def paced(rate, running):
    """Yields at most `rate` times a second (evenly), while running() is true."""
    gap = 1.0 / rate if rate > 0 else 0.0
    next_at = time.monotonic()
    while running():
        if gap:
            next_at += gap
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()  # behind: do not burst to catch up
        if not running():
            return
        yield


def cmd_reuse(a):
    fam = family_of(a.host)
    hosthdr = "[%s]" % a.host if fam == socket.AF_INET6 else a.host
    lo, _, hi = a.ports.partition("-")
    lo, hi = int(lo), int(hi or lo)
    if not (1024 <= lo <= hi <= 65535 and hi - lo < 64):
        raise SystemExit("--ports must be LO-HI within 1024..65535, at most 64 ports")
    # Ports the kernel hands out to other connect()s in this namespace would make some of the
    # binds fail now and then, depending on what else runs: refuse them up front.
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_lo, eph_hi = map(int, f.read().split())
    except (OSError, ValueError):
        eph_lo, eph_hi = 32768, 60999
    if lo <= eph_hi and hi >= eph_lo:
        raise SystemExit("--ports %d-%d overlaps the ephemeral ports %d-%d of this namespace"
                         % (lo, hi, eph_lo, eph_hi))
    ports = list(range(lo, hi + 1))
    end = time.monotonic() + min(a.seconds, 300)
    errors, backends, records = {}, {}, []
    totals = {"connections": 0, "ok": 0, "failed": 0, "bind_errors": 0}

    def running():
        return time.monotonic() < end and not (a.stop_file and os.path.exists(a.stop_file))

    for i, _ in enumerate(paced(a.rate, running)):
        port = ports[i % len(ports)]
        t = time.time()
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(a.timeout)
        try:
            s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
        except OSError as e:  # the client's own problem, not the load balancer's: kept apart
            s.close()
            totals["bind_errors"] += 1
            errors["bind: %s" % e.strerror] = errors.get("bind: %s" % e.strerror, 0) + 1
            continue
        backend, error = None, None
        try:
            s.connect((a.host, a.port))
            backend = one_request(s, hosthdr, "/reuse/%d" % i)["backend"]
        except Exception as e:
            error = type(e).__name__
        finally:
            abort_close(s)
        totals["connections"] += 1
        if error:
            totals["failed"] += 1
            errors[error] = errors.get(error, 0) + 1
        else:
            totals["ok"] += 1
            backends[backend] = backends.get(backend, 0) + 1
        records.append([round(t, 4), port, backend, error])
    return dict(cmd="reuse", host=a.host, port=a.port, ports=[lo, hi], errors=errors,
                backends=backends, records=records, **totals)


def cmd_steady(a):
    import threading
    fam = family_of(a.host)
    hosthdr = "[%s]" % a.host if fam == socket.AF_INET6 else a.host
    end = time.monotonic() + min(a.seconds, 300)
    stop = threading.Event()

    def running():
        if stop.is_set():
            return False
        if time.monotonic() >= end or (a.stop_file and os.path.exists(a.stop_file)):
            stop.set()
            return False
        return True

    held = [dict(index=i, opened=False, requests=0, backend=None, switched=False, error=None,
                 broken_at=None) for i in range(a.hold)]

    def hold_loop(h):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        first = None
        try:
            s.connect((a.host, a.port))
            h["opened"] = True
            n = 0
            while True:
                d = one_request(s, hosthdr, "/hold/%d/%d" % (h["index"], n), close=False)
                n += 1
                h["requests"] = n
                # the same back-end, over the same server-side connection (its n-th request)
                if first is None:
                    first = d["backend"]
                    h["backend"] = first
                if d["backend"] != first or d.get("n") != str(n):
                    h["switched"] = True
                if stop.wait(a.hold_every) or not running():
                    break
        except Exception as e:
            h["error"] = "%s: %s" % (type(e).__name__, e)
            h["broken_at"] = round(time.time(), 3)
        finally:
            s.close()

    records = []

    def short_loop(k):
        # each of --threads loops opens its share of --rate, so that a slow connection (a SYN
        # retransmitted after a second) does not hold the others back
        for i, _ in enumerate(paced(a.rate / a.threads, running)):
            i = i * a.threads + k
            t = time.time()
            t0 = time.monotonic()
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(a.timeout)
            error = None
            try:
                s.connect((a.host, a.port))
                one_request(s, hosthdr, "/steady/%d" % i)
            except Exception as e:
                error = type(e).__name__
            finally:
                s.close()
            records.append([round(t, 4), round((time.monotonic() - t0) * 1000, 3), error])

    threads = [threading.Thread(target=hold_loop, args=(h,)) for h in held]
    for t in threads:
        t.start()
    time.sleep(min(1.0, a.seconds))  # the held connections are open before the short ones start
    shorts = [threading.Thread(target=short_loop, args=(k,)) for k in range(a.threads)]
    for t in shorts:
        t.start()
    for t in shorts:
        t.join()
    stop.set()
    for t in threads:
        t.join(a.timeout + 5)
    errors = {}
    for r in records:
        if r[2]:
            errors[r[2]] = errors.get(r[2], 0) + 1
    failed = sum(errors.values())
    return {"cmd": "steady", "host": a.host, "port": a.port, "connections": len(records),
            "ok": len(records) - failed, "failed": failed, "errors": errors,
            "held_broken": sum(1 for h in held if h["error"] or not h["opened"]),
            "held_switched": sum(1 for h in held if h["switched"]),
            "held_requests": sum(h["requests"] for h in held), "held": held, "records": records}


def cmd_bulk(a):
    import hashlib
    import threading
    fam = family_of(a.host)
    deadline = time.monotonic() + a.deadline

    def one(result):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        sent_hash, recv_hash = hashlib.sha256(), hashlib.sha256()
        sent, received, send_error = [0], 0, []

        def sender():
            try:
                while sent[0] < a.bytes and time.monotonic() < deadline:
                    chunk = os.urandom(min(65536, a.bytes - sent[0]))
                    s.sendall(chunk)
                    sent_hash.update(chunk)
                    sent[0] += len(chunk)
                s.shutdown(socket.SHUT_WR)
            except Exception as e:
                send_error.append("send %s: %s" % (type(e).__name__, e))

        t0 = time.monotonic()
        try:
            s.connect((a.host, a.port))
            result["connect_ms"] = round((time.monotonic() - t0) * 1000, 3)
            result["local"] = fmt_addr(s.getsockname())
            t = threading.Thread(target=sender)
            t.start()
            try:
                while time.monotonic() < deadline:
                    chunk = s.recv(262144)
                    if not chunk:
                        break
                    recv_hash.update(chunk)
                    received += len(chunk)
                else:
                    raise TimeoutError("deadline")
            finally:
                t.join(a.timeout + 5)
            if send_error:
                raise ConnectionError(send_error[0])
        except Exception as e:
            result["error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            s.close()
        result["seconds"] = round(time.monotonic() - t0, 3)
        result["sent"], result["received"] = sent[0], received
        result["intact"] = (result["error"] is None and sent[0] == a.bytes and received == a.bytes
                            and sent_hash.digest() == recv_hash.digest())
        result["mbytes_per_s"] = round(received / 1e6 / max(result["seconds"], 1e-6), 2)

    results = [{"error": None, "connect_ms": None, "local": None} for _ in range(a.conns)]
    threads = [threading.Thread(target=one, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.deadline + a.timeout + 10)
    return {"cmd": "bulk", "host": a.host, "port": a.port, "bytes": a.bytes, "conns": a.conns,
            "ok": sum(1 for r in results if r.get("intact")), "results": results}


def cmd_refused(a):
    fam = family_of(a.host)
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    try:
        s.connect((a.host, a.port))
        result = "connected"
    except ConnectionRefusedError:
        result = "refused"
    except socket.timeout:
        result = "timeout"
    except OSError as e:
        result = "error: %s" % e
    finally:
        s.close()
    return {"cmd": "refused", "host": a.host, "port": a.port, "result": result,
            "elapsed_ms": round((time.monotonic() - t0) * 1000, 3)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("http")
    h.add_argument("host")
    h.add_argument("port", type=int)
    h.add_argument("-n", type=int, default=300)
    h.add_argument("--requests", type=int, default=1)
    h.add_argument("--timeout", type=float, default=2.0)
    h.add_argument("--deadline", type=float, default=60.0)
    u = sub.add_parser("udp")
    u.add_argument("host")
    u.add_argument("port", type=int)
    u.add_argument("-n", type=int, default=30)
    u.add_argument("--same-socket", action="store_true")
    u.add_argument("--size", type=int, default=0)
    u.add_argument("--timeout", type=float, default=1.0)
    u.add_argument("--deadline", type=float, default=30.0)
    r = sub.add_parser("refused")
    c = sub.add_parser("churn")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("--seconds", type=float, default=30.0)
    c.add_argument("--long", type=int, default=4)
    c.add_argument("--stop-file")
    c.add_argument("--timeout", type=float, default=2.0)
    c.add_argument("--short-rate", type=float, default=0.0)
    r.add_argument("host")
    r.add_argument("port", type=int)
    r.add_argument("--timeout", type=float, default=1.0)
    ru = sub.add_parser("reuse")
    ru.add_argument("host")
    ru.add_argument("port", type=int)
    ru.add_argument("--ports", required=True)
    ru.add_argument("--seconds", type=float, default=20.0)
    ru.add_argument("--rate", type=float, default=100.0)
    ru.add_argument("--stop-file")
    ru.add_argument("--timeout", type=float, default=2.0)
    st = sub.add_parser("steady")
    st.add_argument("host")
    st.add_argument("port", type=int)
    st.add_argument("--hold", type=int, default=20, choices=range(0, 201), metavar="0..200")
    st.add_argument("--hold-every", type=float, default=1.0)
    st.add_argument("--rate", type=float, default=50.0)
    st.add_argument("--threads", type=int, default=4, choices=range(1, 33), metavar="1..32")
    st.add_argument("--seconds", type=float, default=30.0)
    st.add_argument("--stop-file")
    st.add_argument("--timeout", type=float, default=3.0)
    bk = sub.add_parser("bulk")
    bk.add_argument("host")
    bk.add_argument("port", type=int)
    bk.add_argument("--bytes", type=int, default=4000000)
    bk.add_argument("--conns", type=int, default=1, choices=range(1, 17), metavar="1..16")
    bk.add_argument("--timeout", type=float, default=5.0)
    bk.add_argument("--deadline", type=float, default=60.0)
    a = ap.parse_args(argv)
    if a.cmd == "bulk" and not (1 <= a.bytes <= 1000000000 and 0 < a.deadline <= 600):
        ap.error("bulk: --bytes out of range (1..10^9) or --deadline (0..600]")
    if getattr(a, "rate", 1) <= 0 or getattr(a, "rate", 1) > 2000:
        ap.error("--rate out of range (0..2000]")
    for k in ("n", "requests"):
        if getattr(a, k, 1) > 100000 or getattr(a, k, 1) < 1:
            ap.error("%s out of range (1..100000)" % k)
    out = {"http": cmd_http, "udp": cmd_udp, "refused": cmd_refused, "churn": cmd_churn,
           "reuse": cmd_reuse, "steady": cmd_steady, "bulk": cmd_bulk}[a.cmd](a)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
