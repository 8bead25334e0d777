/** What `realer bench` prints: a progress line per second, and the summary at the end. */
import type { BenchResult } from "../loadtest/bench.js";
import { msText, num, STEP_HEAD, stepRow } from "../loadtest/figures.js";
import type { BenchSecond } from "../loadtest/series.js";
import { table } from "../ops/table.js";

export function progressLine(s: BenchSecond, phase: string, subscribers: number): string {
  const servers = Object.entries(s.servers)
    .map(([name, r]) => `${name} ${r.cpuCores ?? "-"} cores ${r.rssMB ?? "-"} MB`)
    .join(", ");
  return (
    `${String(s.t).padStart(4)}s ${phase}: sent ${num(s.published)}/s, delivered ${num(s.deliveries)}/s, ` +
    `p50 ${msText(s.p50Ms)} p99 ${msText(s.p99Ms)} ms, open ${num(s.open)}/${num(subscribers)}` +
    (s.reconnects || s.failures ? `, reconnects ${s.reconnects} failed ${s.failures}` : "") +
    (s.duplicates || s.outOfOrder ? `, dup ${s.duplicates} ooo ${s.outOfOrder}` : "") +
    (s.resets || s.errors ? `, resets ${s.resets} errors ${s.errors}` : "") +
    (servers ? ` | ${servers}` : "")
  );
}

export function summary(r: BenchResult): string {
  const o = r.options;
  const t = r.totals;
  const what =
    o.profile === "burst"
      ? `burst: one channel, steps of ${o.stepMs / 1000} s at ${o.rates.join(", ")} msg/s`
      : o.profile === "ramp"
        ? `ramp: ${o.rate} to ${o.toRate} msg/s over ${o.durationMs / 1000} s`
        : `steady: ${o.rate} msg/s for ${o.durationMs / 1000} s`;
  const lines = [
    `realer bench ${r.runId}: ${num(o.subscribers)} subscribers over ${num(o.channels)} channels, ${what}${r.interrupted ? " (stopped early)" : ""}`,
    `  target ${r.sseUrl}; ${o.processes} subscriber processes, ${r.sourceAddresses || "system-chosen"} source addresses`,
    `  open at start ${num(r.connect.openAtStart)}/${num(o.subscribers)}${r.connect.errors.length ? ` (${r.connect.errors.join("; ")})` : ""}`,
    `  published ${num(r.publish.sent)} (${r.publish.sentRate}/s), ${num(r.publish.failed)} failed, ${num(r.publish.retries)} retried`,
    "",
    table(
      [
        "expected",
        "delivered",
        "lost",
        "duplicated",
        "out of order",
        "strays",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
      ],
      [
        [
          num(t.expected),
          num(t.delivered),
          num(t.lost),
          num(t.duplicates),
          num(t.outOfOrder),
          num(t.strays),
          msText(r.latency.p50Ms),
          msText(r.latency.p90Ms),
          msText(r.latency.p99Ms),
          msText(r.latency.maxMs),
        ],
      ],
    ),
    `  subscribers with loss ${num(t.subscribersWithLoss)}; connects ${num(t.connects)} (reconnects ${num(t.reconnects)}), ` +
      `failed attempts ${num(t.failures)}, closes ${num(t.closes)}, resets ${num(t.resets)}, errors ${num(t.errors)}, ` +
      `drains ${num(t.drains)}, open at the end ${num(t.open)}`,
  ];
  if (r.steps) {
    lines.push("", table(STEP_HEAD, r.steps.map(stepRow)));
  }
  return `${lines.join("\n")}\n`;
}
