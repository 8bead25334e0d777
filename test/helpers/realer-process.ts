/** Runs the real `realer` command line in a child process and reads its JSON logs. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface RealerProcess {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the first log line whose msg matches. */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `main`: the TypeScript source by default; a built `dist/cli/main.js` runs on plain node. */
export function spawnRealer(args: string[], env: Record<string, string> = {}, main = MAIN): RealerProcess {
  const loader = main.endsWith(".ts") ? ["--import", "tsx"] : [];
  const proc = spawn(process.execPath, [...loader, main, ...args], {
    env: { ...process.env, REALER_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let err = "";
  let buf = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buf += chunk;
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const l of lines) {
      try {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        logs.push({ msg: l });
      }
    }
  });
  proc.stderr!.setEncoding("utf8").on("data", (c: string) => {
    err = (err + c).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const matches = (m: unknown, msg: string | RegExp) =>
    typeof m === "string" && (typeof msg === "string" ? m === msg : msg.test(m));
  return {
    proc,
    logs,
    stderr: () => err,
    waitForLog: (msg, timeoutMs = 20_000) =>
      Promise.race([
        waitFor(() => logs.find((l) => matches(l.msg, msg)), { timeoutMs, what: `log "${String(msg)}"` }),
        exited.then((code) => {
          throw new Error(`realer ${args[0]} exited with ${code} before logging "${String(msg)}": ${err}`);
        }),
      ]),
    exited,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
