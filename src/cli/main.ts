#!/usr/bin/env node
/**
 * The `realer` command: dev | worker | edge | publish.
 */
import { Command, CommanderError, Option } from "commander";
import { type RealerConfig, configFromEnv } from "../config/config.js";
import { codeOf } from "../errors.js";
import { createLogger } from "../log/logger.js";
import { runDev, runEdge, runWorker } from "./serve.js";
import { runPublish } from "./publish.js";

const program = new Command("realer")
  .description("realtime event delivery: producers -> JetStream -> workers -> SSE edges -> browsers")
  .showHelpAfterError()
  .exitOverride();

const natsOption = () => new Option("--nats <url>", "NATS server URL(s), comma separated").env("REALER_NATS_URL");

function config(opts: { nats?: string; port?: string; host?: string }): RealerConfig {
  const cfg = configFromEnv();
  if (opts.nats) cfg.nats = opts.nats;
  if (opts.host) cfg.edge.host = opts.host;
  if (opts.port !== undefined) {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port ${opts.port} is not a port number`);
    cfg.edge.port = port;
  }
  return cfg;
}

function fail(message: string): never {
  throw new CommanderError(2, "REALER_ERR_CLI_USAGE", message);
}

program
  .command("dev")
  .description("everything in one process on the embedded in-memory broker, with the demo page")
  .option("--port <port>", "HTTP port, 0 picks a free one (default: REALER_PORT or 8080)")
  .option("--host <host>", "listen address", "127.0.0.1")
  .addOption(natsOption().hideHelp())
  .action(async (opts) => runDev(config(opts), createLogger({ level: configFromEnv().logLevel })));

program
  .command("worker")
  .description("claim events, run the pipelines, publish channel messages")
  .addOption(natsOption().makeOptionMandatory())
  .action(async (opts) => runWorker(config(opts), createLogger({ level: configFromEnv().logLevel })));

program
  .command("edge")
  .description("serve SSE connections and the HTTP ingest")
  .addOption(natsOption().makeOptionMandatory())
  .option("--port <port>", "HTTP port, 0 picks a free one (default: REALER_PORT or 8080)")
  .option("--host <host>", "listen address", "127.0.0.1")
  .option("--demo", "also serve the demo page", false)
  .action(async (opts) => runEdge(config(opts), createLogger({ level: configFromEnv().logLevel }), opts.demo));

program
  .command("publish")
  .description("emit an event from the shell")
  .argument("[type]", 'event type, or "comment" for a demo comment', "comment")
  .addOption(natsOption())
  .option("--url <url>", "an edge's base URL: publish through its HTTP ingest instead of NATS")
  .option("--key <key>", "ordering key (default for comments: thread:<thread>)")
  .option("--data <json>", "the event body as JSON, mapped onto the type's schema")
  .option("--id <id>", "event id (dedupe id); default: a new UUID")
  .option("--thread <id>", "demo comment: thread id", "demo")
  .option("--author <name>", "demo comment: author", "cli")
  .option("--text <text>", "demo comment: text", "hello from the command line")
  .action(async (type: string, opts) => {
    if (!opts.nats && !opts.url) fail("publish needs --nats <url> (or REALER_NATS_URL) or --url <edge>");
    const out = await runPublish(config(opts), type, opts);
    process.stdout.write(`${JSON.stringify(out)}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") process.exit(0);
    if (err.code === "REALER_ERR_CLI_USAGE") process.stderr.write(`realer: ${err.message}\n`);
    process.exit(err.exitCode || 2);
  }
  const code = codeOf(err) ?? "REALER_ERR_INTERNAL";
  process.stderr.write(`realer: ${code}: ${(err as Error).message}\n`);
  process.exit(1);
}
