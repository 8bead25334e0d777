/**
 * A bench run as one self-contained HTML file: the verdict, the figures,
 * charts over time (uPlot, inlined with its stylesheet: the page fetches
 * nothing), the burst steps, the subscribers that saw a problem, and the
 * options. The data is embedded as JSON, so the page is also a record of
 * the run.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { BenchResult } from "./bench.js";
import { msText, num, STEP_HEAD, stepRow } from "./figures.js";
import { REPORT_CSS, REPORT_SCRIPT } from "./report-page.js";

const require = createRequire(import.meta.url);
let uplot: { js: string; css: string } | undefined;
function uPlotSources(): { js: string; css: string } {
  uplot ??= {
    js: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
    css: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
  };
  return uplot;
}

/** Subscribers listed in the report at most (those with the most problems first). */
const MAX_ROWS = 200;

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
/** JSON that cannot end the script element it sits in. */
const embed = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");

function card(label: string, value: string, bad = false): string {
  return `<div class="card${bad ? " bad" : ""}"><b>${esc(value)}</b><span>${esc(label)}</span></div>`;
}

function tableOf(head: string[], rows: (string | number)[][]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

function describe(r: BenchResult): string {
  const o = r.options;
  const what =
    o.profile === "burst"
      ? `burst on one channel, steps of ${o.stepMs / 1000} s at ${o.rates.map(num).join(", ")} msg/s`
      : o.profile === "ramp"
        ? `ramp from ${num(o.rate)} to ${num(o.toRate)} msg/s over ${o.durationMs / 1000} s`
        : `${num(o.rate)} msg/s for ${o.durationMs / 1000} s`;
  return `${num(o.subscribers)} subscribers over ${num(o.channels)} channel${o.channels > 1 ? "s" : ""}, ${what}`;
}

export function renderReport(r: BenchResult): string {
  const t = r.totals;
  const problems = t.lost + t.duplicates + t.outOfOrder + t.strays;
  const verdict =
    problems === 0
      ? `Every message reached every subscriber once and in order (${num(t.delivered)} deliveries).`
      : `${num(t.lost)} lost, ${num(t.duplicates)} duplicated, ${num(t.outOfOrder)} out of order, ${num(t.strays)} on the wrong channel, out of ${num(t.expected)} expected deliveries.`;
  const servers = [...new Set(r.series.flatMap((s) => Object.keys(s.servers)))];
  const troubled = r.subscribers
    .filter(
      (s) =>
        s.lost + s.duplicates + s.outOfOrder + s.strays + s.closes + s.failures + s.resets + s.errors > 0,
    )
    .sort(
      (a, b) => b.lost - a.lost || b.duplicates + b.outOfOrder - (a.duplicates + a.outOfOrder) || a.id - b.id,
    );
  const { subscribers: _rows, ...rest } = r;
  const data = { ...rest, servers, troubled: troubled.slice(0, MAX_ROWS) };
  const { js, css } = uPlotSources();
  const steps = r.steps ? `<h2>Burst steps</h2>${tableOf(STEP_HEAD, r.steps.map(stepRow))}` : "";
  const rows = troubled.length
    ? `${tableOf(
        [
          "subscriber",
          "channel",
          "delivered",
          "lost",
          "dup",
          "out of order",
          "reconnects",
          "failed attempts",
          "closes",
          "resets",
          "errors",
          "drains",
        ],
        troubled
          .slice(0, MAX_ROWS)
          .map((s) => [
            s.id,
            s.channel,
            s.delivered,
            s.lost,
            s.duplicates,
            s.outOfOrder,
            s.reconnects,
            s.failures,
            s.closes,
            s.resets,
            s.errors,
            s.drains,
          ]),
      )}${troubled.length > MAX_ROWS ? `<p class="sub">and ${num(troubled.length - MAX_ROWS)} more (the JSON output has them all).</p>` : ""}`
    : `<p class="sub">None: no subscriber lost, doubled or reordered a message, and none was disconnected.</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>realer bench ${esc(r.runId)}</title>
<style>${css}</style>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>realer bench ${esc(r.runId)}</h1>
<p class="sub">${esc(describe(r))}${r.interrupted ? " (stopped early)" : ""}<br>
target ${esc(r.sseUrl)} &middot; ${esc(r.startedAt)} to ${esc(r.endedAt)} &middot; ${r.options.processes} subscriber processes, ${r.sourceAddresses || "system-chosen"} source addresses</p>
<p class="verdict${problems ? " bad" : ""}">${esc(verdict)}</p>
<div class="cards">
${card("expected deliveries", num(t.expected))}
${card("delivered", num(t.delivered))}
${card("lost", num(t.lost), t.lost > 0)}
${card("duplicated", num(t.duplicates), t.duplicates > 0)}
${card("out of order", num(t.outOfOrder), t.outOfOrder > 0)}
${card("subscribers with loss", num(t.subscribersWithLoss), t.subscribersWithLoss > 0)}
${card("latency p50 ms", msText(r.latency.p50Ms))}
${card("p90 ms", msText(r.latency.p90Ms))}
${card("p99 ms", msText(r.latency.p99Ms))}
${card("max ms", msText(r.latency.maxMs))}
${card("open at start", `${num(r.connect.openAtStart)}/${num(r.options.subscribers)}`, r.connect.notOpenAtStart > 0)}
${card("reconnects", num(t.reconnects))}
${card("resets / errors / drains", `${num(t.resets)} / ${num(t.errors)} / ${num(t.drains)}`)}
${card("published (msg/s)", `${num(r.publish.sent)} (${num(r.publish.sentRate)})`)}
${card("publish failures / retries", `${num(r.publish.failed)} / ${num(r.publish.retries)}`, r.publish.failed > 0)}
</div>
<h2>Over time</h2>
<div class="chart" id="chart-deliveries"></div>
<div class="chart" id="chart-latency"></div>
<div class="chart" id="chart-connections"></div>
<div class="chart" id="chart-anomalies"></div>
${servers.length ? '<div class="chart" id="chart-cpu"></div>\n<div class="chart" id="chart-memory"></div>' : '<p class="sub">No server CPU and memory: give --server-pid or --server-metrics to chart them.</p>'}
${steps}
<h2>Subscribers that saw a problem</h2>
${rows}
<h2>Options</h2>
<details><summary>as run</summary><pre>${esc(JSON.stringify(r.options, null, 2))}</pre></details>
</main>
<script id="bench-data" type="application/json">${embed(data)}</script>
<script>${js}</script>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}
