/**
 * The browser side of a bench report: its style and the script that draws
 * the charts with uPlot from the data embedded in the page. Plain ES2020,
 * no modules, nothing fetched: the page works from a file.
 */

export const REPORT_CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --bad: #b3261e; --good: #1b6e3a; --line: #d9dde5; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.verdict { font-weight: 600; padding: 10px 14px; border-radius: 6px; background: #e6f4ea; color: var(--good); }
.verdict.bad { background: #fce8e6; color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card b { display: block; font-size: 20px; }
.card span { color: var(--muted); font-size: 12px; }
.card.bad b { color: var(--bad); }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin: 10px 0; }
table { border-collapse: collapse; background: #fff; width: 100%; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #fff; border: 1px solid var(--line); padding: 10px; overflow: auto; }
`;

/** Runs in the page: `uPlot` is defined by the inlined library, the data sits in #bench-data. */
export const REPORT_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById("bench-data").textContent);
  var series = data.series;
  // Seconds since the run started: a run reads the same whenever it was made.
  var x = series.map(function (s) { return s.t; });
  var col = function (f) { return series.map(f); };
  var colors = ["#1f6feb", "#e8590c", "#2f9e44", "#c2255c", "#7048e8", "#0c8599", "#868e96", "#f59f00"];
  var charts = [];
  function chart(id, title, lines, opts) {
    var el = document.getElementById(id);
    if (!el) return;
    var width = Math.max(320, el.clientWidth - 16);
    var u = new uPlot(
      {
        title: title,
        width: width,
        height: 260,
        scales: Object.assign({ x: { time: false } }, (opts && opts.scales) || {}),
        axes: [{ label: "seconds since the start", size: 50, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600] }].concat((opts && opts.axes) || [{ size: 60 }]),
        series: [{}].concat(
          lines.map(function (l, i) {
            return { label: l.label, stroke: l.color || colors[i % colors.length], width: 1.5, scale: l.scale || "y", spanGaps: false, dash: l.dash };
          }),
        ),
      },
      [x].concat(lines.map(function (l) { return l.values; })),
      el,
    );
    charts.push(u);
  }
  chart("chart-deliveries", "Deliveries and publishes per second", [
    { label: "delivered/s", values: col(function (s) { return s.deliveries; }) },
    { label: "published/s", values: col(function (s) { return s.published; }), scale: "pub", dash: [6, 4] },
  ], { axes: [{ size: 70, label: "deliveries/s" }, { side: 1, scale: "pub", size: 60, label: "published/s", grid: { show: false } }] });
  chart("chart-latency", "Latency, publish to delivery (ms, log scale)", [
    { label: "p50", values: col(function (s) { return s.p50Ms; }) },
    { label: "p90", values: col(function (s) { return s.p90Ms; }) },
    { label: "p99", values: col(function (s) { return s.p99Ms; }) },
    { label: "max", values: col(function (s) { return s.maxMs; }) },
  ], { scales: { y: { distr: 3 } }, axes: [{ size: 60, label: "ms" }] });
  chart("chart-connections", "Connections", [
    { label: "open", values: col(function (s) { return s.open; }) },
    { label: "reconnects/s", values: col(function (s) { return s.reconnects; }), scale: "rate" },
    { label: "failed attempts/s", values: col(function (s) { return s.failures; }), scale: "rate" },
    { label: "closes/s", values: col(function (s) { return s.closes; }), scale: "rate" },
  ], { axes: [{ size: 60, label: "open" }, { side: 1, scale: "rate", size: 60, label: "per second", grid: { show: false } }] });
  chart("chart-anomalies", "Duplicates, out of order, control frames (per second)", [
    { label: "duplicates", values: col(function (s) { return s.duplicates; }) },
    { label: "out of order", values: col(function (s) { return s.outOfOrder; }) },
    { label: "resets", values: col(function (s) { return s.resets; }) },
    { label: "errors", values: col(function (s) { return s.errors; }) },
    { label: "drains", values: col(function (s) { return s.drains; }) },
    { label: "publish failures", values: col(function (s) { return s.publishFailed; }) },
  ]);
  var servers = data.servers;
  if (servers.length) {
    chart("chart-cpu", "Server CPU (cores)", servers.map(function (name) {
      return { label: name, values: col(function (s) { var r = s.servers[name]; return r ? r.cpuCores : null; }) };
    }));
    chart("chart-memory", "Server resident memory (MB)", servers.map(function (name) {
      return { label: name, values: col(function (s) { var r = s.servers[name]; return r ? r.rssMB : null; }) };
    }));
  }
  window.benchCharts = charts;
  window.addEventListener("resize", function () {
    charts.forEach(function (u) { u.setSize({ width: Math.max(320, u.root.parentNode.clientWidth - 16), height: 260 }); });
  });
})();
`;
