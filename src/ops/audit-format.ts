/** The audit report as readable tables. */
import type { AuditReport } from "./audit.js";
import { table } from "./table.js";

export function formatAudit(r: AuditReport): string {
  const e = r.events;
  const out: string[] = [];
  out.push(
    `audit ${new Date(r.from).toISOString()} .. ${new Date(r.to).toISOString()} (${((r.to - r.from) / 1000).toFixed(1)} s)`,
  );
  out.push(
    table(
      ["events produced", "acked", "dead-lettered", "in flight +/-", "balance"],
      [[e.produced, e.acked, e.dead, e.inFlightChange, e.balance]],
    ),
  );
  if (r.stages.length > 0) {
    out.push(
      table(
        ["stage", "in", "passed", "dropped", "retried", "failed", "inside"],
        r.stages.map((s) => [s.stage, s.in, s.passed, s.dropped, s.retried, s.failed, s.inside]),
      ),
    );
    out.push(`settled: ${r.settled}`);
  } else out.push("no worker counters read: give --metrics <url> for each worker");
  out.push(
    table(
      ["channel messages stored", "edge", "received", "frames written", "balance"],
      r.channels.edges.length > 0
        ? r.channels.edges.map((x) => [r.channels.stored, x.source, x.received, x.frames, x.balance])
        : [[r.channels.stored, "(no edge metrics read)", "", "", ""]],
    ),
  );
  if (r.imbalances.length === 0) out.push("balanced: every +1 has its -1");
  for (const i of r.imbalances) out.push(`IMBALANCE at ${i.stage}: ${i.missing} missing (${i.message})`);
  if (!r.quiet && r.imbalances.length > 0)
    out.push(
      "note: events were still in flight at the end of the window; audit again on a quiet system to confirm",
    );
  return `${out.join("\n")}\n`;
}
