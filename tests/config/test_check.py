"""`fairwayd --check -c FILE` on the example configurations.

Every file in bad/ must be rejected with exactly one line on stderr,
`fairwayd: FILE:LINE:COL: FIELD: message`, containing the substring given on the file's first
line as `# expect: ...`. Every file in good/ must be accepted.

Run with /usr/bin/python3 -m pytest tests/config. FAIRWAYD names the binary (default
build/fairwayd); the module is skipped when it does not exist.
"""
import os
import pathlib
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
FAIRWAYD = os.environ.get("FAIRWAYD", str(HERE.parents[1] / "build" / "fairwayd"))
EXPECT_MARKER = "# expect: "

if not os.access(FAIRWAYD, os.X_OK):
    pytest.skip(f"fairwayd not found at {FAIRWAYD} (set FAIRWAYD)", allow_module_level=True)

GOOD = sorted((HERE / "good").glob("*.yaml"))
BAD = sorted((HERE / "bad").glob("*.yaml"))


def check(path):
    # A timeout keeps a hung daemon from hanging the suite; --check never starts the data plane.
    return subprocess.run([FAIRWAYD, "--check", "-c", str(path)], capture_output=True, text=True,
                          timeout=30, check=False)


def expectation(path):
    first = path.read_text().splitlines()[0] if path.stat().st_size else ""
    assert first.startswith(EXPECT_MARKER), f"{path.name}: first line must be '{EXPECT_MARKER}...'"
    return first[len(EXPECT_MARKER):]


def test_there_are_examples():
    assert len(GOOD) >= 3
    assert len(BAD) >= 20


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_config_is_accepted(path):
    result = check(path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_config_is_rejected_with_one_line(path):
    expected = expectation(path)
    result = check(path)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    prefix = f"fairwayd: {path}:"
    assert lines[0].startswith(prefix), lines[0]
    assert expected in lines[0], f"{lines[0]!r} does not contain {expected!r}"
