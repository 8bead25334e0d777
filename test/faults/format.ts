/** The fault run's report as text. */
import { formatAudit } from "../../src/ops/audit-format.js";
import { table } from "../../src/ops/table.js";
import { type FaultRunReport, OCCUPANCY_BOUND_S, type WindowLatency } from "./scenario.js";

const ms = (x: number | null) =>
  x === null ? "-" : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`;
const win = (w: WindowLatency) => (w.seconds === 0 ? "-" : `${ms(w.p50)} / ${ms(w.p99)} / ${ms(w.max)}`);

export function formatReport(r: FaultRunReport): string {
  const o = r.options;
  const t = r.bench.totals;
  const out: string[] = [];
  out.push(
    `fault run: ${o.clients} SSE subscribers through HAProxy on ${o.channels} channels, ` +
      `${o.rate} events/s for ${r.loadSeconds} s; 3 nats-servers (streams R3), 2 workers, 2 edges, the ingest`,
  );
  out.push(
    table(
      ["at", "fault", "recovery", "p50 / p99 / max: 3 s before", "until recovered", "3 s after"],
      r.faults.map((f) => [
        `${f.at.toFixed(1)} s`,
        f.what,
        f.recovery === null ? "never" : `${f.recovery.toFixed(1)} s`,
        win(f.before),
        win(f.during),
        win(f.after),
      ]),
    ),
  );
  out.push(
    `recovery: from the fault to the first of 3 seconds in a row with every stream open and p99 <= ${ms(r.healthyP99Ms)}; ` +
      "latency per second of arrival (p50 the median second's, p99 the worst second's)",
  );
  const l = r.bench.latency;
  out.push(`latency over the run: p50 ${ms(l.p50Ms)}, p99 ${ms(l.p99Ms)}, max ${ms(l.maxMs)}`);
  const p = r.bench.publish;
  out.push(
    `published ${p.accepted} events (${p.retries} publishes retried, ${p.failed} failed after their retries)`,
  );
  out.push(
    `deliveries ${t.delivered} of ${t.expected}: lost ${t.lost}, duplicated ${t.duplicates}, ` +
      `out of order ${t.outOfOrder}, resets ${t.resets}`,
  );
  out.push(
    `the channel stream read back: ${r.stream.messages} messages, ${r.stream.outOfOrder} stored after a later one of ` +
      `their channel (reordered by the workers), ${r.stream.duplicates} stored twice`,
  );
  out.push(
    `subscribers: ${t.open}/${t.subscribers} open at the end, ${t.reconnects} reconnects, ${t.failures} failed attempts, ` +
      `${t.errors} error frames, ${t.drains} drain frames`,
  );
  out.push(
    r.occupancyConverged === null
      ? "occupancy: not right within a minute of the edge's death"
      : `occupancy: right on every edge ${r.occupancyConverged.toFixed(1)} s after the edge died (bound: ${OCCUPANCY_BOUND_S} s)`,
  );
  if (r.audit) out.push(formatAudit(r.audit).trimEnd());
  out.push(r.failures.length === 0 ? "PASS" : `FAIL: ${r.failures.join("; ")}`);
  out.push(`details: ${r.dir}/report.json and the processes' logs there`);
  return `${out.join("\n")}\n`;
}
