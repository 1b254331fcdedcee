#include "api/dashboard.h"

namespace fairway {

// One static page: the browser polls the JSON resources every second and draws tables. No
// framework, no external assets: it must work on a box with no route to the internet. Rates are
// computed here from successive samples of the counters (a ring of the last five minutes); when
// fairwayd stops answering, a banner says since when the page shows old values.
const char* dashboard_html() {
  return R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fairway</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 0; color: #222; }
main { padding: .8em 1.5em 1.5em 1.5em; }
h1 { font-size: 1.3em; margin: 0 0 .2em 0; } h2 { font-size: 1.05em; margin: 1.3em 0 .4em 0; }
table { border-collapse: collapse; font-size: 13px; } td, th { padding: .2em .5em; text-align: left; }
th { border-bottom: 1px solid #999; font-weight: 600; } tr:nth-child(even) { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.up { color: #176c2e; } .down, .removed { color: #b3261e; } .drained, .unknown, .weight { color: #8a6100; }
.muted { color: #777; } svg.spark { display: block; }
#stale { background: #b3261e; color: #fff; font-weight: 600; padding: .5em 1.5em; position: sticky; top: 0; }
table.stale { opacity: .45; background: repeating-linear-gradient(135deg, #fff, #fff 6px, #eee 6px, #eee 12px); }
</style></head><body>
<div id="stale" role="alert" hidden></div>
<main>
<h1>Fairway</h1><div id="summary" class="muted">loading...</div>
<h2>Rates over the last 5 minutes</h2><table id="rates"></table>
<h2>Ports</h2><table id="ports"></table>
<h2>Workers</h2><table id="workers"></table>
<h2>Services and back-ends</h2><table id="services"></table>
<h2>Edge: SYNs, untracked flows, deny lists</h2><table id="edge"></table>
<h2>Agents</h2><table id="agents"></table>
</main>
<script>
"use strict";
const RING = 300;        // counter samples kept: 5 minutes at one a second
const PERIOD_MS = 1000;  // between refreshes
const TIMEOUT_MS = 3000; // a request slower than this counts as no answer
const esc = s => String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
  '"': "&quot;", "'": "&#39;"})[c]);
function table(id, head, rows) {
  document.getElementById(id).innerHTML = "<tr>" + head.map(h => "<th>" + esc(h) + "</th>").join("") +
    "</tr>" + rows.map(r => "<tr>" + r.join("") + "</tr>").join("");
}
const td = (v, cls) => "<td" + (cls ? ' class="' + cls + '"' : "") + ">" + esc(v) + "</td>";
const num = v => td(v, "num");
const pad = n => String(n).padStart(2, "0");
const hhmmss = d => pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
const rate = v => v === null ? "-" : v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString("en-US");

// Counter samples: {t: ms, c: {series: value}}; a series missing from a sample counts 0 (the
// API lists only the drop reasons that happened).
const samples = [];
function keep(stats, services) {
  const k = stats.counters, c = {rx: k.rx_packets, tx: k.tx_packets, flows: k.flows_created, drops: 0};
  for (const [reason, n] of Object.entries(k.drops)) { c["drop " + reason] = n; c.drops += n; }
  for (const s of services) c["flows " + s.name] = s.counters.flows_created;
  samples.push({t: Date.now(), c});
  if (samples.length > RING) samples.shift();
}
// Per-second rates between successive samples; null where a counter went back (a restart).
function series(key) {
  const out = [];
  for (let i = 1; i < samples.length; ++i) {
    const a = samples[i - 1], b = samples[i], dt = (b.t - a.t) / 1000;
    const d = (b.c[key] || 0) - (a.c[key] || 0);
    out.push(dt > 0 && d >= 0 ? d / dt : null);
  }
  return out;
}
function spark(values) {
  const w = 240, h = 26, max = Math.max(1, ...values.filter(v => v !== null));
  const x = i => ((RING - 1 - values.length + i) * w / (RING - 2)).toFixed(1);
  const y = v => (h - 1 - v * (h - 2) / max).toFixed(1);
  let lines = "", points = [];
  values.concat([null]).forEach((v, i) => {
    if (v !== null) { points.push(x(i) + "," + y(v)); return; }
    if (points.length) lines += '<polyline fill="none" stroke="#2a5db0" stroke-width="1.5" points="' +
      points.join(" ") + '"/>';
    points = [];
  });
  return '<td><svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + " " + h +
    '"><line x1="0" y1="' + (h - 1) + '" x2="' + w + '" y2="' + (h - 1) + '" stroke="#ccc"/>' + lines +
    "</svg></td>";
}
function rateRow(label, key) {
  const values = series(key), known = values.filter(v => v !== null);
  const minute = known.slice(-60);
  return [td(label), num(rate(known.length ? known[known.length - 1] : null)),
    num(rate(minute.length ? minute.reduce((a, b) => a + b, 0) / minute.length : null)),
    num(rate(known.length ? Math.max(...known) : null)), spark(values)];
}
function drawRates(services) {
  const last = samples[samples.length - 1].c;
  const rows = [rateRow("packets in", "rx"), rateRow("packets out", "tx"),
    rateRow("new flows", "flows"), rateRow("drops, all reasons", "drops")];
  for (const key of Object.keys(last).filter(k => k.startsWith("drop ")).sort())
    rows.push(rateRow("drops: " + key.slice(5), key));
  for (const s of services) rows.push(rateRow("new flows: " + s.name, "flows " + s.name));
  table("rates", ["per second", "now", "1 min average", "5 min peak",
    "last 5 min (" + (samples.length - 1) + " intervals)"], rows);
}

let lastAnswer = null;  // Date of the last complete answer
const pageLoaded = new Date();
function setStale(message) {
  const banner = document.getElementById("stale");
  if (message === null) {
    banner.hidden = true;
  } else {
    banner.textContent = "stale since " + hhmmss(lastAnswer || pageLoaded) +
      ": fairwayd does not answer (" + message + "); the tables show its last answer";
    banner.hidden = false;
  }
  for (const t of document.querySelectorAll("table")) t.classList.toggle("stale", message !== null);
}
async function json(path) {
  const abort = new AbortController(), timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const r = await fetch(path, {cache: "no-store", signal: abort.signal});
    if (!r.ok) throw new Error("HTTP " + r.status);
    return await r.json();
  } catch (e) {
    throw new Error(path + ": " + (e.name === "AbortError" ? "no answer within " +
      TIMEOUT_MS / 1000 + " s" : e.message));
  } finally {
    clearTimeout(timer);
  }
}
function draw(status, stats, services, agents) {
  document.getElementById("summary").textContent = "fairwayd " + status.version + ", up " +
    status.uptime_seconds + " s, snapshot " + status.snapshot_version + ", " + status.services +
    " services, " + status.backends_down + " back-ends down, retiring " +
    status.retiring.services + " services / " + status.retiring.backends + " back-ends; updated " +
    hhmmss(lastAnswer);
  drawRates(services);
  table("ports", ["port", "link", "MAC", "devices", "rx packets", "tx packets", "rx missed",
    "rx errors", "tx errors", "rx no mbuf", "TAP"],
    status.ports.map(p => [td(p.name), td(p.link, p.link === "up" ? "up" : "down"), td(p.mac),
      num(p.devices), num(p.counters.rx_packets), num(p.counters.tx_packets),
      num(p.counters.rx_missed), num(p.counters.rx_errors), num(p.counters.tx_errors),
      num(p.counters.rx_no_mbuf), td(p.tap || "-", p.tap ? "" : "muted")]));
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
    td(s.name + (s.accepting ? "" : " (removed)"), s.accepting ? "" : "removed"),
    td(s.vip + ":" + s.port + "/" + s.protocol), td(s.mode), td(s.scheduler),
    td(b.backend), num(b.weight), num(b.effective_weight), td(b.state, b.state.split(" ")[0]),
    td(b.health.state, b.health.state), num(b.active_flows), num(b.inactive_flows),
    num(b.flows_created), num(b.packets_in), num(b.bytes_in), num(b.packets_out), num(b.bytes_out),
    td(b.report ? b.report.cpu_percent.toFixed(1) : "-"), td(b.load ? b.load.reason : "", "muted")]);
  table("services", ["service", "VIP", "mode", "scheduler", "back-end", "weight", "effective",
    "state", "health", "active flows", "inactive flows", "flows created", "packets in", "bytes in",
    "packets out", "bytes out", "CPU %", "why"], rows);
  table("agents", ["address", "agent", "age s", "stale", "CPU %", "memory %", "clients"],
    agents.agents.length ? agents.agents.map(a => [td(a.address), td(a.report.agent),
      num(a.age_seconds), td(a.stale ? "yes" : "no", a.stale ? "down" : ""),
      num(a.report.cpu_percent), num(a.report.memory_percent), num(a.report.active_clients)]) :
    [['<td colspan="7" class="muted">' + (agents.enabled ? "no agent has reported yet" :
      "none: load_feedback is not configured") + "</td>"]]);
}
async function refresh() {
  let answers = null;
  try {
    answers = await Promise.all([json("/api/v1/status"), json("/api/v1/stats"),
      json("/api/v1/services"), json("/api/v1/agents")]);
  } catch (e) {
    setStale(e.message);
  }
  if (answers) {
    lastAnswer = new Date();
    setStale(null);
    try {
      const [status, stats, services, agents] = answers;
      keep(stats, services);
      draw(status, stats, services, agents);
    } catch (e) {  // an answer this page does not understand: say so, not "unreachable"
      document.getElementById("summary").textContent = "cannot draw the answer: " + e.message;
    }
  }
  setTimeout(refresh, PERIOD_MS);
}
refresh();
</script></body></html>
)HTML";
}

}  // namespace fairway
