"""The sample configurations of docs/examples/ pass `fairwayd --check` on a machine without their
hardware.

Each example is copied to a temporary directory with every `token_file:` and `key_file:` pointed
at a file the test creates there (mode 0600, a 64-character key), since --check reads them; PCI
devices, hugepage arguments, the state file and BIRD's paths are checked for form only. Every
docs/examples/*.yaml is covered (the list is read from the directory, not written here) and named
in some page of docs/.

Run with /usr/bin/python3 -m pytest tests/config/test_examples.py. FAIRWAYD names the binary
(default build/fairwayd); the module is skipped when it is not built.
"""
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "docs" / "examples"
FAIRWAYD = os.environ.get("FAIRWAYD", str(ROOT / "build" / "fairwayd"))
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
SECRET_LINE = re.compile(r"^(\s*(?:token_file|key_file):\s*)(\S+)(.*)$", re.MULTILINE)


def with_local_secrets(text, directory):
    """The example's text with each secret file replaced by a new file in `directory`."""
    def replace(match):
        original = match.group(2).strip("\"'")
        path = directory / ("secret-" + pathlib.PurePath(original).name)
        path.write_text("0123456789abcdef" * 4 + "\n")
        path.chmod(0o600)
        return match.group(1) + str(path) + match.group(3)
    return SECRET_LINE.sub(replace, text)


def test_examples_exist_and_are_documented():
    names = [p.name for p in EXAMPLES]
    assert "two-nic.yaml" in names, names
    docs = "".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    for name in names:
        assert "examples/" + name in docs, f"docs/examples/{name} is named in no page of docs/"


def test_two_nic_example_is_a_hardware_deployment():
    text = (EXAMPLES_DIR / "two-nic.yaml").read_text()
    assert "--no-huge" not in text
    assert len(set(re.findall(r"device: \"(\d{4}:\d\d:\d\d\.\d)\"", text))) == 2
    for key in ("lcores:", "capacity:", "token_file:", "state_file:", "announce:", "routes:",
                "mode: dsr", "mode: nat", "health_check:"):
        assert key in text, key


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_check(example, tmp_path):
    if not os.access(FAIRWAYD, os.X_OK):
        pytest.skip(f"fairwayd not found at {FAIRWAYD} (set FAIRWAYD)")
    config = tmp_path / example.name
    config.write_text(with_local_secrets(example.read_text(), tmp_path))
    result = subprocess.run([FAIRWAYD, "--check", "-c", str(config)], capture_output=True,
                            text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
