"""fairway-agent as a program: one report on stdout, and a loop against a recording HTTP server.

The binary is $FAIRWAY_AGENT, or build/fairway-agent; the tests are skipped when it is not built.
No root needed, no namespaces: the stand-in for fairwayd listens on 127.0.0.1 (ephemeral port).
"""
import contextlib
import hashlib
import hmac
import http.server
import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
AGENT = os.environ.get("FAIRWAY_AGENT", str(ROOT / "build" / "fairway-agent"))
KEY = b"s3cret-agent-key"
KEYS = ["agent", "address", "timestamp_ms", "sequence", "interval_ms", "cpu_percent",
        "memory_percent", "active_clients"]
APP_KEYS = ["requests_per_second", "mean_response_ms"]

pytestmark = pytest.mark.skipif(not os.access(AGENT, os.X_OK), reason="%s not built" % AGENT)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "agent.key"
    path.write_bytes(KEY + b"\n")  # the trailing newline is not part of the key
    path.chmod(0o600)
    return str(path)


def run_agent(*args, timeout=10):
    return subprocess.run([AGENT, *args], capture_output=True, text=True, timeout=timeout)


def check_report(report, address, interval_ms, app=False):
    assert list(report) == KEYS + (APP_KEYS if app else [])
    assert report["address"] == address
    assert report["interval_ms"] == interval_ms
    now_ms = time.time() * 1000
    assert now_ms - 10_000 < report["timestamp_ms"] <= now_ms + 1000
    # the sequence starts at the wall clock of the agent's start: a little before the report
    assert report["timestamp_ms"] - 10_000 < report["sequence"] <= report["timestamp_ms"]
    assert 0 <= report["cpu_percent"] <= 100
    assert 0 < report["memory_percent"] <= 100
    assert isinstance(report["active_clients"], int) and report["active_clients"] >= 0


@contextlib.contextmanager
def established_connections(count):
    """A listener on 127.0.0.1 with `count` accepted connections: its port and the sockets."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(count)
    clients, accepted = [], []
    try:
        for _ in range(count):
            c = socket.create_connection(listener.getsockname())
            clients.append(c)
            accepted.append(listener.accept()[0])
        yield listener.getsockname()[1]
    finally:
        for s in clients + accepted + [listener]:
            s.close()


def test_once_dry_run_prints_one_report(key_file):
    with established_connections(3) as port:
        result = run_agent("--once", "--dry-run", "--interval", "200ms", "--name", "be1",
                           "--address", "198.18.1.11", "--key-file", key_file,
                           "--port", str(port), "--port", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    body = lines[0]
    report = json.loads(body)
    check_report(report, "198.18.1.11", 200)
    assert report["agent"] == "be1"
    # the server's side of each connection has the local port; the clients' sides do not count
    assert report["active_clients"] == 3
    # compact, in this key order: what Python writes with the tightest separators
    assert json.dumps(report, separators=(",", ":")) == body
    assert "reporting 198.18.1.11 as 'be1'" in result.stderr


def test_once_dry_run_ipv6_address_and_app_command(key_file):
    command = """printf '{"requests_per_second": 85, "mean_response_ms": 3.25}'"""
    result = run_agent("--once", "--dry-run", "--interval", "100ms", "--address", "2001:2::11",
                       "--key-file", key_file, "--app-command", command)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    check_report(report, "2001:2::11", 100, app=True)
    assert report["agent"] == socket.gethostname()
    assert report["requests_per_second"] == 85.0
    assert report["mean_response_ms"] == 3.25


def test_app_figures_omitted_when_the_command_fails(key_file):
    result = run_agent("--once", "--dry-run", "--interval", "100ms", "--address", "198.18.1.11",
                       "--key-file", key_file, "--app-command", "echo nonsense")
    assert result.returncode == 0, result.stderr
    check_report(json.loads(result.stdout), "198.18.1.11", 100, app=False)
    assert "no application figures from command 'echo nonsense': not a JSON object" in result.stderr


@pytest.mark.parametrize("args,message", [
    (["--address", "198.18.1.11", "--key-file", "/nonexistent/agent.key"],
     "cannot read '/nonexistent/agent.key': No such file or directory"),
    (["--address", "be1", "--key-file", "KEY"], "--address be1: expected an IPv4 or IPv6 address"),
    (["--address", "198.18.1.11", "--key-file", "KEY", "--server", "2001:2::1:9180"],
     "expected HOST:PORT or [IPv6]:PORT"),
    (["--address", "198.18.1.11", "--key-file", "KEY", "--interval", "10ms"],
     "at least 100ms"),
    (["--address", "198.18.1.11", "--key-file", "KEY", "--cgroup", "/nonexistent"],
     "/nonexistent is neither a cgroup v2 directory"),
])
def test_refuses_to_start_with_a_clear_error(key_file, args, message):
    args = [key_file if a == "KEY" else a for a in args]
    result = run_agent("--once", "--dry-run", *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_refuses_an_empty_key_and_warns_about_a_readable_one(tmp_path):
    empty = tmp_path / "empty.key"
    empty.write_bytes(b" \n\n")
    empty.chmod(0o600)
    result = run_agent("--once", "--dry-run", "--address", "198.18.1.11", "--key-file", str(empty))
    assert result.returncode == 1
    assert "is empty" in result.stderr
    readable = tmp_path / "readable.key"
    readable.write_bytes(KEY)
    readable.chmod(0o644)
    result = run_agent("--once", "--dry-run", "--interval", "100ms", "--address", "198.18.1.11",
                       "--key-file", str(readable))
    assert result.returncode == 0
    assert "readable by everyone (mode 0644)" in result.stderr


class Collector:
    """Stands in for fairwayd's report endpoint: records every POST, answers `status`."""

    def __init__(self):
        self.requests = []  # (monotonic time, path, headers, body)
        self.status = 204
        self.errors = {401: "bad signature", 503: "starting up"}
        self.lock = threading.Lock()
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                record = (time.monotonic(), self.path, dict(self.headers), body)
                with collector.lock:
                    collector.requests.append(record)
                    status = collector.status
                answer = (json.dumps({"error": collector.errors[status]}).encode()
                          if status in collector.errors else b"")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set_status(self, status):
        with self.lock:
            self.status = status
            return len(self.requests)

    def since(self, index):
        with self.lock:
            return list(self.requests[index:])

    def wait_for(self, index, count, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.since(index)) >= count:
                return True
            time.sleep(0.05)
        return False


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.server.shutdown()
    c.server.server_close()


def test_reports_signed_then_backs_off_then_recovers(key_file, collector, tmp_path):
    log = open(tmp_path / "agent.log", "w+")
    agent = subprocess.Popen([AGENT, "--server", "127.0.0.1:%d" % collector.port,
                              "--address", "198.18.1.12", "--name", "be2", "--interval", "500ms",
                              "--key-file", key_file],
                             stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        # 1. accepted: a report every 500 ms, each signed over its exact bytes
        time.sleep(3)
        accepted = collector.since(0)
        assert 4 <= len(accepted) <= 7, len(accepted)
        sequences = []
        for _, path, headers, body in accepted:
            assert path == "/api/v1/agents/report"
            assert headers["Content-Type"] == "application/json"
            expected = "sha256=" + hmac.new(KEY, body, hashlib.sha256).hexdigest()
            assert headers["X-Fairway-Signature"] == expected
            report = json.loads(body)
            check_report(report, "198.18.1.12", 500)
            assert report["agent"] == "be2"
            sequences.append(report["sequence"])
        assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))

        # 2. 503: back-off of 1 s, 2 s, 4 s (each up to 20% shorter): about 3 attempts in 4 s
        # instead of 8, and the sequence jumps over the reports built but kept back
        start = collector.set_status(503)
        time.sleep(4)
        failing = collector.since(start)
        assert 2 <= len(failing) <= 4, len(failing)
        failing_sequences = [json.loads(r[3])["sequence"] for r in failing]
        assert failing_sequences[0] > sequences[-1]
        assert all(b > a for a, b in zip(failing_sequences, failing_sequences[1:]))
        assert max(b - a for a, b in zip(failing_sequences, failing_sequences[1:])) >= 2

        # 3. back: the waiting report goes when the back-off ends, then one per interval again
        start = collector.set_status(204)
        assert collector.wait_for(start, 3, timeout=6), "no recovery after the back-off"
        back = collector.since(start)[:3]
        recovered = [json.loads(r[3])["sequence"] for r in back]
        assert recovered[0] > failing_sequences[-1]
        assert recovered[2] - recovered[1] == 1
        assert 0.2 < back[2][0] - back[1][0] < 0.8  # the first may come between two intervals

        # 4. 401: refused, not retried faster nor slower; the error logged once
        start = collector.set_status(401)
        time.sleep(2)
        refused = collector.since(start)
        assert 3 <= len(refused) <= 5, len(refused)
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            code = agent.wait(timeout=3)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
            raise AssertionError("fairway-agent did not stop within 3 s of SIGTERM")
    assert code == 0
    log.seek(0)
    text = log.read()
    assert "fairwayd at 127.0.0.1:%d accepts reports" % collector.port in text
    assert text.count("unreachable") == 1, text
    assert "accepts reports again" in text
    assert text.count("bad signature") == 1, text
    assert "stopping on signal 15" in text
    assert agent.stdout.read() == ""  # reports went to the server, not to stdout


def test_once_sends_and_exits_by_the_answer(key_file, collector):
    args = ["--once", "--interval", "100ms", "--server", "127.0.0.1:%d" % collector.port,
            "--address", "198.18.1.13", "--key-file", key_file]
    result = run_agent(*args)
    assert result.returncode == 0, result.stderr
    [(_, _, headers, body)] = collector.since(0)
    assert body.decode() == result.stdout.strip()  # printed and sent: the same bytes
    assert headers["X-Fairway-Signature"] == \
        "sha256=" + hmac.new(KEY, body, hashlib.sha256).hexdigest()
    collector.set_status(401)
    result = run_agent(*args)
    assert result.returncode == 1
    assert "refused the report: HTTP 401: bad signature" in result.stderr
