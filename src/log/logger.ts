import { createRequire } from "node:module";
import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger };

/** pino-pretty is a development dependency: use it only where it is installed. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}

/**
 * The root logger. Components take a child (`log.child({ component: "edge" })`).
 * Payloads and secrets are redacted so they never reach a log by accident.
 * `pretty` renders human-readable lines (for a terminal); otherwise JSON lines.
 */
export function createLogger(opts: { level?: string; name?: string; pretty?: boolean } = {}): Logger {
  const options: LoggerOptions = {
    name: opts.name ?? "realer",
    level: opts.level ?? "info",
    redact: {
      paths: ["payload", "*.payload", "data", "*.data", "token", "*.token", "req.headers.authorization"],
      censor: "[redacted]",
    },
    base: { pid: process.pid },
  };
  if (opts.pretty && prettyAvailable()) {
    return pino(options, pino.transport({ target: "pino-pretty", options: { ignore: "pid,hostname,name" } }));
  }
  return pino(options);
}
