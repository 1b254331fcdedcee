#include "api/dashboard.h"

namespace fairway {

// One static page: the browser polls the JSON resources every second and draws tables. No
// framework, no external assets: it must work on a box with no route to the internet.
const char* dashboard_html() {
  return R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fairway</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .2em 0; } h2 { font-size: 1.05em; margin: 1.4em 0 .4em 0; }
table { border-collapse: collapse; } td, th { padding: .2em .7em; text-align: left; }
th { border-bottom: 1px solid #999; font-weight: 600; } tr:nth-child(even) { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.up { color: #176c2e; } .down, .removed { color: #b3261e; } .drained, .unknown { color: #8a6100; }
#error { color: #b3261e; } .muted { color: #777; }
</style></head><body>
<h1>Fairway</h1><div id="summary" class="muted">loading...</div><div id="error"></div>
<h2>Workers</h2><table id="workers"></table>
<h2>Services and back-ends</h2><table id="services"></table>
<h2>Edge: SYNs, untracked flows, deny lists</h2><table id="edge"></table>
<h2>Agents</h2><table id="agents"></table>
<script>
"use strict";
const esc = s => String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
  '"': "&quot;", "'": "&#39;"})[c]);
function table(id, head, rows) {
  document.getElementById(id).innerHTML = "<tr>" + head.map(h => "<th>" + esc(h) + "</th>").join("") +
    "</tr>" + rows.map(r => "<tr>" + r.join("") + "</tr>").join("");
}
const td = (v, cls) => "<td" + (cls ? ' class="' + cls + '"' : "") + ">" + esc(v) + "</td>";
const num = v => td(v, "num");
async function json(path) {
  const r = await fetch(path, {cache: "no-store"});
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}
async function refresh() {
  try {
    const [status, services, agents] = await Promise.all(
      [json("/api/v1/status"), json("/api/v1/services"), json("/api/v1/agents")]);
    document.getElementById("summary").textContent = "fairwayd " + status.version + ", up " +
      status.uptime_seconds + " s, snapshot " + status.snapshot_version + ", " + status.services +
      " services, " + status.backends_down + " back-ends down, retiring " +
      status.retiring.services + " services / " + status.retiring.backends + " back-ends";
    table("workers", ["worker", "lcore", "snapshot", "flows", "half-open", "flow table",
      "SYN proxy", "load %"],
      status.workers.map(w => [num(w.worker), num(w.lcore), num(w.snapshot_version), num(w.flows),
        num(w.half_open_flows), td(w.under_pressure ? "under pressure" : "normal",
        w.under_pressure ? "down" : "up"), td(w.syn_proxy_engaged ? "engaged" : "idle",
        w.syn_proxy_engaged ? "down" : "up"), num(w.load_percent)]));
    table("edge", ["service", "SYNs", "untracked flows", "denied packets", "SYN proxy",
      "cookies sent", "cookies validated", "bad cookies", "deny list"],
      services.map(s => [td(s.name), num(s.counters.syns), num(s.counters.flows_untracked),
        num(s.counters.denied), td(s.syn_proxy), num(s.counters.cookies_sent),
        num(s.counters.cookies_validated), num(s.counters.cookies_invalid),
        td(s.deny_clients.join(", ") || "-", "muted")]));
    const rows = [];
    for (const s of services) for (const b of s.backends) rows.push([
      td(s.name), td(s.vip + ":" + s.port + "/" + s.protocol), td(s.mode), td(s.scheduler),
      td(b.backend), num(b.weight), num(b.effective_weight), td(b.state, b.state.split(" ")[0]),
      td(b.health.state, b.health.state), num(b.active_flows), num(b.inactive_flows),
      num(b.flows_created), num(b.packets_in),
      num(b.bytes_in), num(b.packets_out), num(b.bytes_out),
      td(b.report ? b.report.cpu_percent.toFixed(1) : "-"), td(b.load ? b.load.reason : "", "muted")]);
    table("services", ["service", "VIP", "mode", "scheduler", "back-end", "weight", "effective",
      "state", "health", "active", "inactive", "flows created", "packets in", "bytes in", "packets out", "bytes out",
      "CPU %", "why"], rows);
    table("agents", ["address", "agent", "age s", "stale", "CPU %", "memory %", "clients"],
      agents.agents.map(a => [td(a.address), td(a.report.agent), num(a.age_seconds),
        td(a.stale ? "yes" : "no", a.stale ? "down" : ""), num(a.report.cpu_percent),
        num(a.report.memory_percent), num(a.report.active_clients)]));
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "cannot reach fairwayd: " + e.message;
  }
}
refresh();
setInterval(refresh, 1000);
</script></body></html>
)HTML";
}

}  // namespace fairway
