"""The dashboard (GET /) in a real browser: headless Chromium through Selenium.

fairwayd runs as in the other API tests (apilib.py: net_pcap ports, no NIC) with one more port,
`edge`, that captures from one end of a veth pair (net_pcap rx_iface_in): a thread here writes
frames into the other end for as long as the module runs, so the counters move and the page has
rates to show: new connections (a SYN and an ACK each) to two services, and frames the data plane
drops for a bad IPv4 checksum. The veth pair has no address and no IPv6; nothing leaves the box.

Then the daemon is stopped (SIGSTOP, then SIGTERM) and the page must say since when what it shows
is stale, and stop saying so when fairwayd answers again (SIGCONT).

Needs root, Debian's chromium, chromium-driver and python3-selenium (scripts/packages.txt).
    /usr/bin/python3 -m pytest -q tests/api/test_dashboard_browser.py
FAIRWAY_UPDATE_SCREENSHOT=1 writes the screenshot to docs/img/dashboard.png (docs/OPERATIONS.md);
otherwise it goes to a temporary directory, so that a test run leaves the tree as it was.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import (FAIRWAYD, ROOT, call, get_json, running_daemon,  # noqa: E402
                    services_by_name)

CHROMEDRIVER = "/usr/bin/chromedriver"
if os.geteuid() != 0:
    pytest.skip("fairwayd needs root (DPDK)", allow_module_level=True)
if not os.access(FAIRWAYD, os.X_OK):
    pytest.skip("%s not built" % FAIRWAYD, allow_module_level=True)
if not os.access(CHROMEDRIVER, os.X_OK):
    pytest.skip("no %s (apt-get install chromium chromium-driver)" % CHROMEDRIVER,
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="apt-get install python3-selenium")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

EDGE_MAC = "02:00:00:00:02:01"
PEER_MAC = "02:00:00:00:02:02"
VETH = "fwdash%d" % (os.getpid() % 100000)   # fairwayd's end (at most 15 characters)
PEER = "fwdasp%d" % (os.getpid() % 100000)   # where this test writes
DRAINED = ("shop", "198.18.1.15:443")
STARTED = time.monotonic()


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


@pytest.fixture(scope="module")
def veth():
    sh("ip", "link", "add", VETH, "type", "veth", "peer", "name", PEER)
    try:
        for name in (VETH, PEER):  # no IPv6: the kernel sends nothing on its own (router solicitations)
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % name)
            sh("ip", "link", "set", name, "up")
        yield
    finally:
        subprocess.run(["ip", "link", "del", VETH], capture_output=True)


def with_edge(work_config):
    def edit(config):
        config["workers_poll"] = "adaptive"  # a shared test box: no core spinning for nothing
        config["flow_table"]["timeouts"] = {"tcp_syn": "10s", "tcp_established": "20s"}
        config["ports"].append({
            "name": "edge", "device": "net_pcap2,rx_iface_in=%s,tx_pcap=%s/out2.pcap" % (VETH, work_config),
            "mac": EDGE_MAC, "addresses": ["198.18.2.1/24"], "exception_path": False})
        config["services"].append({
            "name": "shop", "vip": "198.18.100.2", "port": 443, "protocol": "tcp", "mode": "dsr",
            "backends": [{"address": "198.18.1.%d" % i} for i in (13, 14, 15)]})
    return edit


class Traffic(threading.Thread):
    """Writes into PEER ~20 times a second: new connections (SYN, then ACK) to each service, one
    to three by turns of 10 s (so that the rates vary), and one frame with a bad IPv4 checksum
    (dropped: bad_ipv4_checksum)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.sent = 0

    def run(self):
        from scapy.all import IP, TCP, Ether  # Debian's python3-scapy
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((PEER, 0))
        eth = Ether(src=PEER_MAC, dst=EDGE_MAC)
        bad = eth / IP(src="198.18.2.9", dst="198.18.100.1", chksum=0x1234) / TCP(dport=80, flags="S")
        port = 1024
        started = time.monotonic()
        while not self.stopping.wait(0.05):
            burst = 1 + int((time.monotonic() - started) / 10) % 3
            for vip, dport in (("198.18.100.1", 80), ("198.18.100.2", 443)) * burst:
                port = port + 1 if port < 65000 else 1024
                ip = IP(src="198.18.2.%d" % (10 + port % 200), dst=vip)
                sock.send(bytes(eth / ip / TCP(sport=port, dport=dport, flags="S", seq=1000)))
                sock.send(bytes(eth / ip / TCP(sport=port, dport=dport, flags="A", seq=1001, ack=1)))
                self.sent += 2
            sock.send(bytes(bad))
            self.sent += 1
        sock.close()


@pytest.fixture(scope="module")
def daemon(veth):
    work = tempfile.mkdtemp(prefix="fairway-dash-")
    with running_daemon(with_edge(work)) as d:
        code, answer = call(d.listen, "PUT", "/api/v1/services/%s/backends/%s" % DRAINED,
                            {"drain": True})
        assert code == 200, answer
        traffic = Traffic()
        traffic.start()
        try:
            yield d
        finally:
            traffic.stopping.set()
            traffic.join(5)
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(daemon):
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                # nothing but the page: no update checks, no sync, no first-run fetches
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get("http://%s/" % daemon.listen)
        yield driver
    finally:
        driver.quit()


def rows(driver, table):
    """The table as a list of {header: cell text}."""
    cells = driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' tr')]"
        ".map(r => [...r.cells].map(c => c.textContent))", table)
    if not cells:
        return []
    return [dict(zip(cells[0], r)) for r in cells[1:]]


def wait(driver, predicate, seconds, what):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.2).until(lambda d: predicate(d))
    except Exception as e:  # TimeoutException: say what did not happen, and what the page showed
        raise AssertionError("timed out after %d s waiting for %s; the page said:\n%s"
                             % (seconds, what, driver.find_element("tag name", "body").text)) from e


def rate_now(driver, label):
    row = [r for r in rows(driver, "rates") if r["per second"] == label]
    return float(row[0]["now"].replace(",", "")) if row and row[0]["now"] != "-" else None


def test_tables_show_every_service_and_backend_with_its_state(daemon, browser):
    wait(browser, lambda d: len(rows(d, "services")) == 5, 20, "five back-end rows")
    shown = {(r["service"], r["back-end"]): r for r in rows(browser, "services")}
    expected = {(s["name"], b["backend"]): (s, b) for s in services_by_name(daemon.listen).values()
                for b in s["backends"]}
    assert set(shown) == set(expected)
    for key, (service, backend) in expected.items():
        row = shown[key]
        assert row["VIP"] == "%s:%d/tcp" % (service["vip"], service["port"]), row
        assert row["mode"] == "dsr" and row["scheduler"] == "maglev", row
        assert row["state"] == backend["state"], row
        assert row["health"] == "unchecked", row
        assert row["weight"] == "1", row
        for column in ("active flows", "inactive flows", "flows created"):
            assert re.fullmatch(r"\d+", row[column]), (column, row)
    assert shown[DRAINED]["state"] == "drained"
    assert shown[DRAINED]["effective"] == "0"
    assert [r["state"] for k, r in shown.items() if k != DRAINED] == ["up"] * 4


def test_backends_flows_by_state_appear(daemon, browser):
    # the census runs every 2 s: the connections opened by Traffic become active flows
    def active(d):
        return sum(int(r["active flows"]) for r in rows(d, "services")) > 0
    wait(browser, active, 20, "active flows in the back-end table")
    shown = rows(browser, "services")
    assert int([r for r in shown if (r["service"], r["back-end"]) == DRAINED][0]["flows created"]) == 0


def test_ports_and_their_link_state(daemon, browser):
    wait(browser, lambda d: len(rows(d, "ports")) == 3, 10, "three ports")
    shown = {r["port"]: r for r in rows(browser, "ports")}
    status = get_json(daemon.listen, "/api/v1/status")
    assert set(shown) == {p["name"] for p in status["ports"]} == {"client", "server", "edge"}
    for p in status["ports"]:
        assert shown[p["name"]]["link"] == p["link"] == "up", shown[p["name"]]
        assert shown[p["name"]]["MAC"] == p["mac"]
    assert int(shown["edge"]["rx packets"]) > 0


def test_workers_table(daemon, browser):
    workers = rows(browser, "workers")
    assert len(workers) == 1
    assert workers[0]["SYN proxy"] == "idle" and workers[0]["flow table"] == "normal", workers
    assert workers[0]["snapshot"] == str(get_json(daemon.listen, "/api/v1/status")["snapshot_version"])


def test_agents_table_says_why_it_is_empty(daemon, browser):
    assert [r["address"] for r in rows(browser, "agents")] == ["none: load_feedback is not configured"]


def test_rates_appear_after_a_few_refreshes(daemon, browser):
    def enough(d):
        heads = d.execute_script("return [...document.querySelectorAll('#rates th')].map(h => h.textContent)")
        m = re.search(r"\((\d+) intervals\)", " ".join(heads))
        return m and int(m.group(1)) >= 4 and (rate_now(d, "new flows") or 0) > 0
    wait(browser, enough, 30, "four intervals of rates with new flows")
    # Traffic sends ~40 connections/s (80 frames) and ~20 bad frames/s; a loaded box sends fewer
    assert rate_now(browser, "packets in") > 20
    assert 5 < rate_now(browser, "new flows") < 200
    assert rate_now(browser, "new flows: web") > 2 and rate_now(browser, "new flows: shop") > 2
    assert rate_now(browser, "drops: bad_ipv4_checksum") > 2
    assert rate_now(browser, "drops, all reasons") >= rate_now(browser, "drops: bad_ipv4_checksum")
    sparks = browser.execute_script("return document.querySelectorAll('#rates svg polyline').length")
    assert sparks >= 5


def test_nothing_undefined_on_the_page(daemon, browser):
    text = browser.find_element("tag name", "body").text
    for bad in ("undefined", "NaN", "[object Object]", "null", "cannot draw"):
        assert bad not in text, "%r on the page:\n%s" % (bad, text)
    assert not browser.find_element("id", "stale").is_displayed()
    assert browser.execute_script("return document.querySelectorAll('table.stale').length") == 0


def test_screenshot(daemon, browser):
    if os.environ.get("FAIRWAY_UPDATE_SCREENSHOT") == "1":
        path = str(ROOT / "docs" / "img" / "dashboard.png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
    else:
        path = os.path.join(tempfile.mkdtemp(prefix="fairway-dash-shot-"), "dashboard.png")
    if os.environ.get("FAIRWAY_UPDATE_SCREENSHOT") == "1":
        time.sleep(90)  # for the picture: sparklines with some history
    # the whole page, not the window: a viewport as tall as the page
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1400, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        assert browser.save_screenshot(path)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 20000, "a blank page?"
    print("\nscreenshot: %s" % path)


def stale_banner(driver):
    banner = driver.find_element("id", "stale")
    return banner.text if banner.is_displayed() else None


def assert_stale_since_about_now(driver):
    text = stale_banner(driver)
    m = re.match(r"stale since (\d\d):(\d\d):(\d\d): fairwayd does not answer", text or "")
    assert m, text
    since = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    now = time.localtime()
    ago = (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec - since) % 86400
    assert ago <= 15, "stale since %s, %d s ago" % (m.group(0), ago)
    tables = browser_tables(driver)
    assert tables and all("stale" in t for t in tables), tables


def browser_tables(driver):
    return driver.execute_script("return [...document.querySelectorAll('table')].map(t => t.className)")


def test_stale_banner_when_fairwayd_stops_answering_and_gone_when_it_answers(daemon, browser):
    assert stale_banner(browser) is None
    daemon.proc.send_signal(signal.SIGSTOP)  # hangs: the page's requests time out
    try:
        wait(browser, stale_banner, 15, "the stale banner while fairwayd is stopped")
        assert "no answer within 3 s" in stale_banner(browser)
        assert_stale_since_about_now(browser)
    finally:
        daemon.proc.send_signal(signal.SIGCONT)
    wait(browser, lambda d: stale_banner(d) is None, 15, "the banner to go once fairwayd answers")
    assert all("stale" not in t for t in browser_tables(browser))
    daemon.proc.send_signal(signal.SIGTERM)  # gone: the page's requests are refused
    daemon.proc.wait(15)
    wait(browser, stale_banner, 15, "the stale banner once fairwayd has exited")
    assert_stale_since_about_now(browser)
    print("\nbrowser test module: %.1f s" % (time.monotonic() - STARTED))
