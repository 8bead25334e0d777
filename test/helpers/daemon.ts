/** A server program (haproxy, nginx) run in the foreground by a test, until `stop()`. */
import { type ChildProcess, spawn } from "node:child_process";
import { waitFor } from "./wait.js";

export interface Daemon {
  proc: ChildProcess;
  /** What it printed on stdout and stderr, the last 64 kB. */
  output(): string;
  /** SIGTERM (both haproxy and nginx then stop at once, cutting open streams), and its exit. */
  stop(): Promise<void>;
}

/**
 * Spawns `bin` and resolves once `ready()` holds. If it exits first, or is not ready within
 * 10 s, it is stopped and the promise rejects with its output.
 */
export async function startDaemon(
  bin: string,
  args: string[],
  ready: () => Promise<boolean>,
  env: Record<string, string> = {},
): Promise<Daemon> {
  const proc = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-65_536);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    await exited;
  };
  const died = exited.then(() => {
    throw new Error(`${bin} exited with ${proc.exitCode}: ${out}`);
  });
  died.catch(() => {});
  try {
    await Promise.race([waitFor(ready, { timeoutMs: 10_000, what: `${bin} to serve` }), died]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, output: () => out, stop };
}

/**
 * Runs `start` up to three times: a port picked free is bound a moment later by the daemon,
 * and another process may take it in between.
 */
export async function threeTries<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}
