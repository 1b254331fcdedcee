"""contrib/grafana/fairway.json against what a running fairwayd exposes.

Every metric name in the dashboard's PromQL (panel targets and template variables) must be a
family of /metrics of a live fairwayd (apilib.py) with `scheduler: least-load` and an agent's
report, so that the agents' families exist too. The few families that only exist with a feature
this daemon cannot have here (health checks need a reachable back-end; BIRD; flow sync) must at
least be in docs/API.md's metrics table. And the JSON must have what Grafana needs to import it.
    /usr/bin/python3 -m pytest -q tests/api/test_grafana.py
"""
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apilib import FAIRWAYD, ROOT, get, running_daemon  # noqa: E402

DASHBOARD = ROOT / "contrib" / "grafana" / "fairway.json"
KEY = b"grafana-test-key-0123456789abcdef"
# Families that need a feature this test's daemon does not run (see docs/API.md).
CONDITIONAL = {"fairway_backend_healthy", "fairway_backend_health_check_failures_total",
               "fairway_bird_reconfigurations_total", "fairway_bird_failures_total",
               "fairway_flow_sync_records_total", "fairway_flow_sync_refused_total"}
# PromQL words that look like names: functions, aggregations, keywords.
PROMQL_WORDS = {"sum", "by", "rate", "increase", "max", "min", "count", "vector", "or", "and",
                "unless", "without", "label_values", "avg", "on", "ignoring", "offset"}


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])  # a collapsed row keeps its panels inside


def expressions(dash):
    exprs = [t["expr"] for p in panels(dash) for t in p.get("targets", [])]
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]
            exprs.append(q["query"] if isinstance(q, dict) else q)
    return exprs


def metric_names(expr):
    """Metric names of a PromQL expression: identifiers not inside {...} or [...], not in a
    `by (...)` list, not strings, not functions."""
    expr = re.sub(r"^\s*label_values\((.*),\s*\w+\)\s*$", r"\1", expr)  # a variable's query
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)             # strings
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)             # matchers, ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word = m.group(0)
        following = expr[m.end():].lstrip()
        if word in PROMQL_WORDS or following.startswith("("):
            continue
        names.add(word)
    return names


def exposed_families(text):
    """Families of a Prometheus text exposition that have samples (a family announced by a TYPE
    line alone draws nothing); a histogram's or summary's _bucket/_sum/_count samples count as
    their family."""
    families = set()
    for name in re.findall(r"^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]", text, re.M):
        families.add(name)
        families.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return families


def test_the_extractor_finds_names_and_only_names():
    expr = ('sum by (service, backend) (rate(fairway_backend_bytes_total{instance=~"$i", '
            'service="a b"}[$__rate_interval])) * 8 / max(fairway_flow_table_capacity) or vector(0)')
    assert metric_names(expr) == {"fairway_backend_bytes_total", "fairway_flow_table_capacity"}
    assert metric_names("label_values(fairway_build_info, instance)") == {"fairway_build_info"}
    assert metric_names('label_values(fairway_service_accepting{instance=~"$i"}, service)') == {
        "fairway_service_accepting"}
    assert metric_names("count(fairway_backend_up == 0) > 0") == {"fairway_backend_up"}


def test_the_json_is_a_grafana_dashboard():
    dash = dashboard()
    assert dash["title"] and dash["uid"] and isinstance(dash["schemaVersion"], int)
    assert isinstance(dash["panels"], list) and len(dash["panels"]) >= 20
    ids = [p["id"] for p in panels(dash)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "instance", "service"} <= variables
    cells = set()
    for p in panels(dash):
        assert p.get("type") and p.get("title"), p
        g = p["gridPos"]
        assert g["w"] > 0 and g["h"] > 0 and 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):  # panels must not overlap
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, "%s overlaps another panel" % p["title"]
                cells.add((x, y))
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        targets = p.get("targets")
        assert targets, "%s has no targets" % p["title"]
        refs = [t["refId"] for t in targets]
        assert len(refs) == len(set(refs)), p["title"]
        for t in targets:
            expr = t["expr"]
            assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr
            for var in re.findall(r"\$(\w+)", expr):  # every variable used is defined
                assert var in variables or var.startswith("__"), (var, expr)
            assert metric_names(expr), "no metric in %r" % expr


def least_load_with_agent(config):
    config["load_feedback"] = {"key": KEY.decode(), "report_interval": "200ms", "stale_after": 3}
    config["services"][0]["scheduler"] = "least-load"


def send_report(listen):
    body = json.dumps({"agent": "a", "address": "198.18.1.11", "timestamp_ms": int(time.time() * 1000),
                       "sequence": int(time.time() * 1000), "interval_ms": 200, "cpu_percent": 20.0,
                       "memory_percent": 30.0, "active_clients": 2}, separators=(",", ":"))
    signature = "sha256=" + hmac.new(KEY, body.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request("http://%s/api/v1/agents/report" % listen, data=body.encode(),
                                 method="POST", headers={"X-Fairway-Signature": signature})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


@pytest.mark.skipif(os.geteuid() != 0, reason="fairwayd needs root (DPDK)")
@pytest.mark.skipif(not os.access(FAIRWAYD, os.X_OK), reason="fairwayd not built")
def test_every_metric_of_the_dashboard_is_exposed():
    with running_daemon(least_load_with_agent) as d:
        send_report(d.listen)
        # The load factor comes with the distributor's next round after the report: wait for it.
        deadline = time.monotonic() + 10
        while True:
            text = get(d.listen, "/metrics")[2]
            exposed = exposed_families(text)
            if "fairway_backend_load_factor" in exposed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert "fairway_backend_cpu_utilization_ratio" in exposed, "the agent's report was not kept"
    used = set().union(*(metric_names(e) for e in expressions(dashboard())))
    assert len(used) >= 50, sorted(used)
    missing = used - exposed - CONDITIONAL
    assert not missing, "in contrib/grafana/fairway.json but not in /metrics: %s" % sorted(missing)
    # The conditional ones: documented, and really absent here (else they belong in the check).
    api_md = open(ROOT / "docs" / "API.md").read()
    for name in used & CONDITIONAL:
        assert "`%s`" % name in api_md, name
        assert name not in exposed, "%s is exposed now: drop it from CONDITIONAL" % name
