/** Options shared by several commands, and the one way to build a config from flags. */
import { CommanderError, Option } from "commander";
import { configFromEnv, type RealerConfig } from "../config/config.js";

export const natsOption = () =>
  new Option(
    "--nats <url>",
    "NATS server URL(s), comma separated; nats://user:password@host:4222 with credentials",
  ).env("REALER_NATS_URL");

/** --host: no default of its own, so REALER_HOST applies when the flag is absent. */
export const hostOption = (what = "listen address") =>
  new Option("--host <host>", `${what} (default: REALER_HOST or 127.0.0.1)`);

/** A usage error: printed as `realer: message`, exit code 2. */
export function usage(message: string): never {
  throw new CommanderError(2, "REALER_ERR_CLI_USAGE", message);
}

export function configFrom(opts: { nats?: string; port?: string; host?: string }): RealerConfig {
  const cfg = configFromEnv();
  if (opts.nats) cfg.nats = opts.nats;
  if (opts.host) cfg.edge.host = opts.host;
  if (opts.port !== undefined) {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      usage(`--port ${opts.port} is not a port number`);
    cfg.edge.port = port;
  }
  return cfg;
}
