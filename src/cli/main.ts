#!/usr/bin/env node
/**
 * The `realer` command. Each command lives in its own file and registers itself here.
 */
import { Command, CommanderError } from "commander";
import { codeOf } from "../errors.js";
import { registerAudit } from "./audit.js";
import { registerBench } from "./bench.js";
import { registerDlq } from "./dlq.js";
import { registerIngest } from "./ingest.js";
import { registerInspect } from "./inspect.js";
import { registerPublish } from "./publish.js";
import { registerReplay } from "./replay.js";
import { registerServe } from "./serve.js";

const program = new Command("realer")
  .description("realtime event delivery: producers -> JetStream -> workers -> SSE edges -> browsers")
  .showHelpAfterError()
  .exitOverride();

registerServe(program);
registerPublish(program);
registerReplay(program);
registerDlq(program);
registerInspect(program);
registerAudit(program);
registerIngest(program);
registerBench(program);

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
