"""The programs as an operator meets them: `--version` on each (with the git revision), usage
errors exit 2 and name the bad option, fairwayd's default configuration path, the API token from a
file, and the warning for an API that listens beyond loopback without a token.

Run with /usr/bin/python3 -m pytest tests/config. Binaries from $FAIRWAYD's directory (default
build/); each test is skipped when its binary is not built.
"""
import os
import pathlib
import re
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAIRWAYD = os.environ.get("FAIRWAYD", str(ROOT / "build" / "fairwayd"))
BUILD = pathlib.Path(FAIRWAYD).parent
PROGRAMS = ["fairwayd", "fairwayctl", "fairway-agent", "fairway-sim"]
PORTS = ("ports:\n"
         "  - {name: client, device: net_null0, addresses: [198.18.0.1/24]}\n")


def run(*argv, timeout=30, env=None):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                          check=False, stdin=subprocess.DEVNULL, env=env)


def binary(name):
    path = BUILD / name
    if not os.access(path, os.X_OK):
        pytest.skip("%s not built" % path)
    return path


def config_file(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    f.write(text)
    f.close()
    return f.name


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_program_says_its_version_and_revision(program):
    r = run(binary(program), "--version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"%s \d+\.\d+\.\d+ \(git ([0-9a-f]{12}|unknown)\)\n" % re.escape(program),
                        r.stdout), r.stdout


@pytest.mark.parametrize("program,argv", [("fairwayd", []), ("fairwayctl", ["status"])])
def test_an_unknown_option_is_a_usage_error_that_names_it(program, argv):
    r = run(binary(program), *argv, "--frobnicate")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "--frobnicate" in r.stdout + r.stderr
    assert "is required" not in r.stdout + r.stderr


def test_fairwayd_rejects_an_unknown_log_level():
    r = run(binary("fairwayd"), "--log-level", "chatty", "--check", "-c", "/nonexistent.yaml")
    assert r.returncode == 2 and "chatty" in r.stdout + r.stderr, (r.stdout, r.stderr)


def test_fairwayd_reads_etc_fairway_by_default():
    if os.path.exists("/etc/fairway/fairway.yaml"):
        pytest.skip("this machine has /etc/fairway/fairway.yaml")
    r = run(binary("fairwayd"), "--check")
    assert r.returncode == 1
    assert "/etc/fairway/fairway.yaml" in r.stderr, r.stderr


def test_the_api_token_can_come_from_a_file():
    with tempfile.TemporaryDirectory() as d:
        token = os.path.join(d, "token")
        with open(token, "w") as f:
            f.write("a-long-enough-api-token\n")
        os.chmod(token, 0o600)
        good = config_file(PORTS + "control: {listen: 127.0.0.1:9180, token_file: %s}\n" % token)
        r = run(binary("fairwayd"), "--check", "-c", good)
        assert r.returncode == 0, r.stderr
        both = config_file(PORTS + "control: {token: x, token_file: %s}\n" % token)
        r = run(binary("fairwayd"), "--check", "-c", both)
        assert r.returncode == 1 and "give either token or token_file" in r.stderr, r.stderr
        missing = config_file(PORTS + "control: {token_file: %s/nope}\n" % d)
        r = run(binary("fairwayd"), "--check", "-c", missing)
        assert r.returncode == 1 and "control.token_file" in r.stderr and "nope" in r.stderr, r.stderr


def test_an_api_beyond_loopback_without_a_token_is_warned_about():
    if os.geteuid() != 0:
        pytest.skip("fairwayd starts DPDK (root)")
    # The start fails later (no such device); the warning comes first.
    cfg = config_file("eal: {args: [--no-huge, -m, '64', --no-pci, --file-prefix, fwwarn%d]}\n"
                      % os.getpid() + PORTS.replace("net_null0", "net_nosuchdriver0") +
                      "control: {listen: 0.0.0.0:19181}\n")
    r = run(binary("fairwayd"), "-c", cfg, timeout=60)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "listens on 0.0.0.0:19181 without a token" in r.stderr, r.stderr
    r = run(binary("fairwayd"), "-c", cfg, "--log-level", "error", timeout=60)
    assert r.returncode == 1 and "without a token" not in r.stderr, r.stderr
