"""The Debian package on a clean Debian 12: scripts/package.sh builds it, debootstrap makes a
minimal bookworm root, apt installs the .deb there with the dependencies dpkg-shlibdeps declared
(from the host's apt sources), and the installed programs, configuration and systemd units are
checked inside that root. Then the package is purged.

Run as root with Debian's python3: /usr/bin/python3 -m pytest -q tests/package
Needs debootstrap and the network to the Debian mirror (the host's apt sources). Takes ~2
minutes on a built tree, most of it debootstrap (~80 s). Every step prints how long it took.
Nothing is cached: the root lives in one temporary directory, removed at the end (after /proc
inside it is unmounted). FAIRWAY_DEBIAN_MIRROR overrides the mirror debootstrap uses.
"""
import glob
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MIRROR = os.environ.get("FAIRWAY_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
# What the programs find in a login shell's PATH, and nothing of the host's environment.
CHROOT_ENV = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
              "DEBIAN_FRONTEND=noninteractive", "HOME=/root"]
VERSION_LINE = r"%s \d+\.\d+\.\d+ \(git ([0-9a-f]{12}|unknown)\)\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap and chroot need root")


class Steps:
    """Runs and times the steps; prints each step's time even under pytest's capture."""

    def __init__(self, pytestconfig):
        self.capture = pytestconfig.pluginmanager.getplugin("capturemanager")
        self.times = []

    def say(self, text):
        if self.capture is not None:
            with self.capture.global_and_fixture_disabled():
                print(text, flush=True)
        else:
            print(text, flush=True)

    def run(self, name, argv, timeout, check=True, **kwargs):
        self.say("package test: %s ..." % name)
        start = time.monotonic()
        r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                           check=False, stdin=subprocess.DEVNULL, **kwargs)
        took = time.monotonic() - start
        self.times.append((name, took))
        self.say("package test: %s: %.1f s%s" % (name, took,
                                                  "" if r.returncode == 0 else
                                                  " (exit %d)" % r.returncode))
        if check:
            assert r.returncode == 0, "%s failed (exit %d):\n%s\n%s" % (
                name, r.returncode, r.stdout[-4000:], r.stderr[-4000:])
        return r


def mounts_under(path):
    """Mount points at or below path, deepest first (from /proc/self/mounts)."""
    prefix = os.path.realpath(path)
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            target = line.split()[1].replace("\\040", " ")
            if target == prefix or target.startswith(prefix + "/"):
                found.append(target)
    return sorted(found, key=len, reverse=True)


def host_apt_sources():
    """The host's active apt source files (apt reads only *.list and *.sources)."""
    files = [p for p in ["/etc/apt/sources.list"] if os.path.isfile(p)]
    files += sorted(glob.glob("/etc/apt/sources.list.d/*.list") +
                    glob.glob("/etc/apt/sources.list.d/*.sources"))
    return files


@pytest.fixture(scope="module")
def chroot(pytestconfig):
    """A bookworm root with the package installed; yields (steps, root, deb path)."""
    for tool in ("debootstrap", "chroot", "dpkg-deb"):
        assert shutil.which(tool), "%s is missing: run scripts/install-deps.sh" % tool
    steps = Steps(pytestconfig)
    begin = time.monotonic()
    deb = steps.run("build the package (scripts/package.sh)", [ROOT / "scripts" / "package.sh"],
                    timeout=1800).stdout.strip()
    assert re.fullmatch(r".*/fairway_\d+\.\d+\.\d+_[a-z0-9]+\.deb", deb), deb
    tmp = tempfile.mkdtemp(prefix="fairway-package-")
    root = os.path.join(tmp, "root")
    try:
        steps.run("debootstrap --variant=minbase %s" % SUITE,
                  ["debootstrap", "--variant=minbase", SUITE, root, MIRROR], timeout=1800)
        # apt in the root resolves the package's dependencies from the host's sources (the
        # mirror and its updates and security suites), through the host's resolver.
        sources = host_apt_sources()
        assert sources, "the host has no apt sources to give the root"
        os.remove(os.path.join(root, "etc/apt/sources.list"))
        for src in sources:
            dest = os.path.join(root, src.lstrip("/"))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(src, dest)
        shutil.copyfile("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
        # No service starts inside the root, whatever a maintainer script asks.
        policy = os.path.join(root, "usr/sbin/policy-rc.d")
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        subprocess.run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")], check=True)
        shutil.copy(deb, os.path.join(root, "tmp"))
        in_root = ["chroot", root] + CHROOT_ENV
        steps.run("apt-get update (in the root)", in_root + ["apt-get", "update", "-q"],
                  timeout=600)
        steps.run("apt-get install ./%s (in the root)" % os.path.basename(deb),
                  in_root + ["apt-get", "install", "-y", "-q", "--no-install-recommends",
                             "/tmp/" + os.path.basename(deb)], timeout=1200)
        yield steps, root, deb
    finally:
        for target in mounts_under(root):
            subprocess.run(["umount", "-l", target], check=False)
        left = mounts_under(root)
        if left:
            # Removing the tree would reach into what is still mounted (the host's /proc).
            pytest.fail("still mounted under %s, not removed: %s" % (tmp, left))
        shutil.rmtree(tmp, ignore_errors=True)
        steps.times.append(("the whole package test", time.monotonic() - begin))
        steps.say("package test: times: " + ", ".join("%s %.1f s" % t for t in steps.times))


def in_root(chroot_fixture, name, *argv, check=False, timeout=120):
    steps, root, _ = chroot_fixture
    return steps.run(name, ["chroot", root] + CHROOT_ENV + list(argv), timeout=timeout,
                     check=check)


def test_the_package_declares_its_libraries_and_drivers(chroot):
    _, _, deb = chroot
    fields = subprocess.run(["dpkg-deb", "--field", deb, "Package", "Depends", "Recommends"],
                            capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Package: fairway$", fields, re.M), fields
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    # From dpkg-shlibdeps: the libraries the programs link, with versions.
    for lib in ("librte-eal23", "librte-ethdev23", "libyaml-cpp0.7", "libssl3", "libsodium23",
                "libc6 (>="):
        assert lib in depends, depends
    # Declared by hand: DPDK drivers are plugins no program links.
    assert "librte-mempool-ring23" in depends and "librte-net-tap23" in depends, depends


def test_programs_are_installed_where_the_units_look(chroot):
    _, root, _ = chroot
    for path in ("usr/sbin/fairwayd", "usr/bin/fairwayctl", "usr/bin/fairway-agent",
                 "usr/bin/fairway-sim", "usr/lib/systemd/system/fairwayd.service",
                 "usr/lib/systemd/system/fairway-agent.service", "etc/default/fairway-agent",
                 "usr/share/doc/fairway/OPERATIONS.md", "usr/share/doc/fairway/README.md"):
        assert os.path.exists(os.path.join(root, path)), path


@pytest.mark.parametrize("program", ["fairwayd", "fairwayctl", "fairway-agent", "fairway-sim"])
def test_every_program_runs_with_the_declared_dependencies(chroot, program):
    r = in_root(chroot, "%s --version" % program, program, "--version")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert re.fullmatch(VERSION_LINE % re.escape(program), r.stdout), r.stdout


def test_the_sample_configuration_is_valid(chroot):
    r = in_root(chroot, "fairwayd --check -c /etc/fairway/fairway.yaml",
                "fairwayd", "--check", "-c", "/etc/fairway/fairway.yaml")
    assert r.returncode == 0, r.stderr
    assert "configuration /etc/fairway/fairway.yaml is valid" in r.stdout, r.stdout
    # The default path is the same file.
    r = in_root(chroot, "fairwayd --check", "fairwayd", "--check")
    assert r.returncode == 0, r.stderr


def test_the_configuration_files_are_conffiles(chroot):
    r = in_root(chroot, "dpkg-query Conffiles", "dpkg-query", "-W", "-f=${Conffiles}", "fairway")
    assert r.returncode == 0, r.stderr
    # One " PATH MD5SUM" line each.
    listed = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
    assert listed == {"/etc/fairway/fairway.yaml", "/etc/default/fairway-agent"}, r.stdout


def test_the_units_pass_systemd_analyze_verify(chroot):
    # systemd-analyze resolves the units' dependencies (multi-user.target, network-online.target)
    # and checks their programs inside the root: it needs systemd there, not as PID 1. (On the
    # host, `systemd-analyze verify --root=DIR` works too, but also only with systemd in DIR.)
    in_root(chroot, "apt-get install systemd (in the root)", "apt-get", "install", "-y", "-q",
            "--no-install-recommends", "systemd", check=True, timeout=1200)
    for unit in ("fairwayd.service", "fairway-agent.service"):
        r = in_root(chroot, "systemd-analyze verify %s" % unit, "systemd-analyze", "verify", unit)
        # verify only warns about an unknown key or a bad value: any output is a failure.
        assert r.returncode == 0 and r.stdout + r.stderr == "", (unit, r.stdout, r.stderr)


def test_verify_catches_a_broken_unit(chroot):
    """The check above can fail: a unit with a misspelt key and a missing program."""
    _, root, _ = chroot
    unit = pathlib.Path(root, "usr/lib/systemd/system/fairwayd.service").read_text()
    broken = unit.replace("LimitMEMLOCK=", "LimitMEMLOK=").replace("/usr/sbin/fairwayd",
                                                                    "/usr/sbin/fairwayd-missing")
    assert broken != unit
    path = pathlib.Path(root, "etc/systemd/system/fairway-broken.service")
    path.write_text(broken)
    try:
        r = in_root(chroot, "systemd-analyze verify (a broken unit)", "systemd-analyze", "verify",
                    "fairway-broken.service")
        out = r.stdout + r.stderr
        assert r.returncode != 0, out
        assert "LimitMEMLOK" in out and "fairwayd-missing" in out, out
    finally:
        path.unlink()


def test_purge_removes_the_programs_and_the_configuration(chroot):
    _, root, _ = chroot
    in_root(chroot, "apt-get purge fairway (in the root)", "apt-get", "purge", "-y", "-q",
            "fairway", check=True, timeout=600)
    for path in ("usr/sbin/fairwayd", "etc/fairway/fairway.yaml", "etc/default/fairway-agent",
                 "usr/lib/systemd/system/fairwayd.service", "etc/fairway"):
        assert not os.path.exists(os.path.join(root, path)), path
