/** Options shared by several commands, and the one way to build a config from flags. */
import { type Command, CommanderError, Option } from "commander";
import { configFromEnv, defaultConfig, type RealerConfig } from "../config/config.js";
import { applyStreamLimits, flagOf, STREAM_LIMITS } from "../config/stream-limits.js";
import { codeOf } from "../errors.js";

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

/** The commands that create realer's streams at start-up. */
export const STREAM_COMMANDS: ReadonlySet<string> = new Set(["dev", "worker", "edge", "ingest", "publish"]);

/** Adds a flag for every stream limit (`--events-max-age-ms` ...): for the commands that create the streams. */
export function streamLimitOptions(cmd: Command): Command {
  for (const s of STREAM_LIMITS) {
    const none = s.field === "duplicateWindowMs" ? "" : "; 0: no limit";
    cmd.option(`--${flagOf(s)} <n>`, `${s.help}${none} (${s.env})`);
  }
  return cmd;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function configFrom(opts: { nats?: string; port?: string; host?: string }): RealerConfig {
  // The NATS URL first: without one, the streams start from the embedded broker's limits.
  const cfg = configFromEnv(undefined, { ...defaultConfig(), nats: opts.nats || undefined });
  if (opts.nats) cfg.nats = opts.nats;
  try {
    const flags = opts as Record<string, string | undefined>;
    cfg.streams = applyStreamLimits(
      cfg.streams,
      (s) => flags[camel(flagOf(s))],
      (s) => `--${flagOf(s)}`,
    );
  } catch (err) {
    if (codeOf(err) !== "REALER_ERR_CONFIG_INVALID") throw err;
    usage((err as Error).message.replace(/^configuration is invalid: /, ""));
  }
  if (opts.host) cfg.edge.host = opts.host;
  if (opts.port !== undefined) {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      usage(`--port ${opts.port} is not a port number`);
    cfg.edge.port = port;
  }
  return cfg;
}
