/** `realer audit`: the +1/-1 ledger over a window, from the streams and every process's /metrics. */
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { audit, takeSnapshot } from "../ops/audit.js";
import { formatAudit } from "../ops/audit-format.js";
import { urlMetrics } from "../ops/metrics-source.js";
import { withOps } from "./ops-context.js";
import { configFrom, natsOption, usage } from "./options.js";

/** "10s", "500ms", "2m" or plain milliseconds. */
export function parseWindow(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) usage(`--window ${v}: expected a duration such as 10s, 500ms or 2m`);
  const n = Number(m[1]);
  const ms = m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n;
  if (ms < 1 || ms > 3_600_000) usage(`--window ${v}: between 1 ms and 1 hour`);
  return ms;
}

const collectUrls = (v: string, prev: string[]) => [...prev, ...v.split(",").filter(Boolean)];

export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description(
      "balance the ledger over a window: events produced = processed + dead-lettered + in flight, stage by stage, and per edge",
    )
    .addOption(natsOption())
    .option(
      "--metrics <url>",
      "a process's /metrics URL (repeat, or comma separate; default REALER_METRICS_URLS)",
      collectUrls,
      [],
    )
    .option("--window <duration>", "how long to watch: the ledger is the difference of two snapshots", "10s")
    .option("--json", "machine-readable output")
    .action(async (f: { nats?: string; metrics: string[]; window: string; json?: boolean }) => {
      const cfg = configFrom(f);
      const windowMs = parseWindow(f.window);
      const urls = f.metrics.length > 0 ? f.metrics : cfg.admin.metricsUrls;
      await withOps(cfg, "audit", async (o) => {
        const sources = urls.map((u) => urlMetrics(u));
        const a = await takeSnapshot(o.broker, cfg, sources);
        await sleep(windowMs);
        const r = audit(a, await takeSnapshot(o.broker, cfg, sources));
        process.stdout.write(f.json ? `${JSON.stringify(r)}\n` : formatAudit(r));
        // Scripts can alert on the exit code: 3 means the ledger does not balance.
        if (r.imbalances.length > 0) process.exitCode = 3;
      });
    });
}
