#!/usr/bin/env node
/**
 * The `realer` command. Each command lives in its own file and registers itself in program.ts.
 */
import { CommanderError } from "commander";
import { codeOf, exitCodeOf } from "../errors.js";
import { createProgram } from "./program.js";

const program = createProgram();

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
  process.exit(exitCodeOf(err));
}
