/** What the operator commands (replay, inspect, dlq, audit) share: a broker on NATS and a logger. */
import type { AdminBroker } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { createLogger, type Logger } from "../log/logger.js";
import { usage } from "./options.js";
import { openBroker } from "./wiring.js";

export interface OpsContext {
  cfg: RealerConfig;
  broker: AdminBroker;
  log: Logger;
}

/** Runs `fn` with a broker connected to the configured NATS server, and closes it after. */
export async function withOps<T>(
  cfg: RealerConfig,
  name: string,
  fn: (ctx: OpsContext) => Promise<T>,
): Promise<T> {
  if (!cfg.nats)
    usage(`${name} reads the streams of a running realer: give --nats <url> (or REALER_NATS_URL)`);
  const broker = await openBroker(cfg, `realer-${name}`);
  // stdout carries the command's output: only warnings and worse are logged unless asked for.
  const log = createLogger({
    level: cfg.logLevel === "info" ? "warn" : cfg.logLevel,
    name: `realer-${name}`,
  });
  try {
    return await fn({ cfg, broker, log });
  } finally {
    await broker.close();
  }
}

/** An integer option, or a usage error naming it. */
export function intOption(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) usage(`${name} ${v}: expected an integer >= ${min}`);
  return n;
}

/** A time option: an ISO date, or Unix milliseconds. */
export function timeOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n))
    usage(`${name} ${v}: expected an ISO date (2026-01-31T12:00:00Z) or Unix milliseconds`);
  return n;
}
