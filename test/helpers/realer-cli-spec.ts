/**
 * What realer's command line and configuration accept, read from the code itself: the
 * commander definitions (src/cli/program.ts) and the environment configFromEnv reads. Tests
 * of files that name realer's commands, flags and variables (deploy/) check them against it.
 */
import type { Command } from "commander";
import { createProgram } from "../../src/cli/program.js";
import { configFromEnv, defaultConfig } from "../../src/config/config.js";
import { catalogue } from "../../src/errors.js";

export interface FlagSpec {
  /** The flag takes a value (`--port <port>`). */
  takesValue: boolean;
  /** The environment variable that stands in for it, if any. */
  env?: string | undefined;
}

/** Every command (`dev`, `edge`, `dlq list`...) with its flags by long name (`--port`). */
export function realerCommands(): Map<string, Map<string, FlagSpec>> {
  const out = new Map<string, Map<string, FlagSpec>>();
  const walk = (cmd: Command, prefix: string) => {
    for (const sub of cmd.commands) {
      const name = prefix ? `${prefix} ${sub.name()}` : sub.name();
      const flags = new Map<string, FlagSpec>();
      for (const o of sub.options) {
        if (o.long) flags.set(o.long, { takesValue: o.required || o.optional, env: o.envVar });
      }
      out.set(name, flags);
      walk(sub, name);
    }
  };
  walk(createProgram(), "");
  return out;
}

/** The environment variables realer reads: every key configFromEnv looks up, and flags' variables. */
export function realerEnvNames(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get(_t, key) {
      if (typeof key === "string") read.add(key);
      return undefined;
    },
    has(_t, key) {
      if (typeof key === "string") read.add(key);
      return false;
    },
  });
  configFromEnv(env);
  for (const flags of realerCommands().values()) for (const f of flags.values()) if (f.env) read.add(f.env);
  return read;
}

/**
 * Every REALER_* name realer gives a meaning to: its environment variables, its error codes and
 * its stream names.
 */
export function realerNames(): Set<string> {
  const streams = Object.values(defaultConfig().streams).map((s) => s.name);
  return new Set([...realerEnvNames(), ...catalogue.keys(), ...streams]);
}

/**
 * The problems of one realer command line (`["edge", "--port", "8080"]`, the program name left
 * out): an unknown command, an unknown flag, a flag without its value. Empty when it is fine.
 */
export function commandLineProblems(argv: readonly string[], commands = realerCommands()): string[] {
  let name = "";
  let i = 0;
  while (i < argv.length && commands.has(name ? `${name} ${argv[i]}` : argv[i]!)) {
    name = name ? `${name} ${argv[i]}` : argv[i]!;
    i++;
  }
  if (!name) return [`"${argv.join(" ")}": no realer command "${argv[0]}"`];
  const flags = commands.get(name)!;
  const problems: string[] = [];
  for (; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith("--")) {
      problems.push(`realer ${name}: "${token}" is not a flag, and ${name} takes no arguments here`);
      continue;
    }
    const [flag, inline] = token.split("=", 2) as [string, string | undefined];
    const spec = flags.get(flag);
    if (!spec) problems.push(`realer ${name} has no flag ${flag}`);
    else if (
      spec.takesValue &&
      inline === undefined &&
      (argv[i + 1] === undefined || argv[i + 1]!.startsWith("--"))
    )
      problems.push(`realer ${name} ${flag} needs a value`);
    else if (spec.takesValue && inline === undefined) i++;
  }
  return problems;
}

/** The value of `flag` in a command line, if given. */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i]!.startsWith(`${flag}=`)) return argv[i]!.slice(flag.length + 1);
  }
  return undefined;
}

/**
 * The ports a realer command line listens on, with the environment it runs in: `http` for
 * dev, edge and ingest (--port, REALER_PORT or the default), `metrics` for a worker
 * (--metrics-port or REALER_METRICS_PORT).
 */
export function listenPorts(argv: readonly string[], env: Record<string, string | undefined> = {}): number[] {
  const cmd = argv[0];
  if (cmd === "dev" || cmd === "edge" || cmd === "ingest")
    return [Number(flagValue(argv, "--port") ?? env.REALER_PORT ?? defaultConfig().edge.port)];
  if (cmd === "worker") {
    const m = flagValue(argv, "--metrics-port") ?? env.REALER_METRICS_PORT;
    return m === undefined ? [] : [Number(m)];
  }
  return [];
}
