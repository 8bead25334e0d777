/** The `realer` command line: every command registered, nothing parsed or run. */
import { Command } from "commander";
import { registerAudit } from "./audit.js";
import { registerBench } from "./bench.js";
import { registerDlq } from "./dlq.js";
import { registerIngest } from "./ingest.js";
import { registerInspect } from "./inspect.js";
import { STREAM_COMMANDS, streamLimitOptions } from "./options.js";
import { registerPublish } from "./publish.js";
import { registerReplay } from "./replay.js";
import { registerServe } from "./serve.js";

export function createProgram(): Command {
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
  // The commands that create the streams (ensureStreams) take a flag per stream limit.
  for (const c of program.commands) if (STREAM_COMMANDS.has(c.name())) streamLimitOptions(c);
  registerBench(program);
  return program;
}
