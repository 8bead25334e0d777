import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/**
 * The root logger. Components take a child (`log.child({ component: "edge" })`).
 * Payloads and secrets are redacted so they never reach a log by accident.
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const options: LoggerOptions = {
    name: opts.name ?? "realer",
    level: opts.level ?? "info",
    redact: {
      paths: ["payload", "*.payload", "data", "*.data", "token", "*.token", "req.headers.authorization"],
      censor: "[redacted]",
    },
    base: { pid: process.pid },
  };
  return pino(options);
}
