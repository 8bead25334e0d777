/**
 * The processes of the scaling measurements, as an operator runs them: a
 * nats-server with JetStream (a temporary store, a random port), and
 * `realer edge`, `realer worker`, `realer ingest` from `dist/` (built by
 * `npm run build`; BENCH_CLI picks another build), each its own process so
 * its CPU and memory are read apart; and `realer bench` itself as a child
 * process, whose phase lines
 * are timestamped with every server's CPU and memory at that moment.
 * Everything started is stopped by `stopAll()`, and every process is
 * bounded in time (`realer bench` by its own deadline, servers by the
 * caller's `finally`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BenchResult } from "../../src/loadtest/bench.js";
import { type ProcSample, sampleAll, tree } from "../../src/loadtest/proc-stats.js";
import { type NatsServer, startNatsServer } from "../../test/helpers/nats-server.js";
import { freePort } from "../../test/helpers/ports.js";
import { waitForPort } from "../edge/system.js";

/** The build under test: dist/ here, or BENCH_CLI (another build's dist/cli/main.js, to compare two in one session). */
export const CLI = process.env.BENCH_CLI ?? fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** Stopped in reverse order by `stopAll()`. */
const running: { name: string; stop: () => Promise<void> }[] = [];

export function checkBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
}

/** Registers something else to stop with the rest. */
export function track(name: string, stop: () => Promise<void>): void {
  running.push({ name, stop });
}

export async function stopAll(): Promise<void> {
  while (running.length) {
    const r = running.pop()!;
    await r.stop().catch((err: Error) => console.error(`stopping ${r.name}: ${err.message}`));
  }
}

export async function nats(): Promise<NatsServer> {
  const n = await startNatsServer({ monitor: true });
  track("nats-server", () => n.stop());
  return n;
}

export interface Role {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** The process and its descendants (an edge cluster's workers). */
  pids(): number[];
  stop(): Promise<void>;
}

function stopped(p: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
    p.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    p.kill(signal);
  });
}

/**
 * `realer <args>` from dist/, resolved once it logs `ready` (a pino `msg`).
 * Its log goes nowhere past that but the lines kept for `logs()`.
 */
export async function realer(
  name: string,
  args: string[],
  ready: string,
  env: Record<string, string> = {},
): Promise<Role & { logs(): string }> {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, REALER_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: string) => {
    out = (out + d).slice(-200_000);
  };
  proc.stdout!.setEncoding("utf8").on("data", keep);
  proc.stderr!.setEncoding("utf8").on("data", keep);
  const role = {
    name,
    pid: proc.pid!,
    proc,
    pids: () => tree(proc.pid!),
    stop: () => stopped(proc),
    logs: () => out,
  };
  running.push({ name, stop: role.stop });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not "${ready}" within 60 s:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes(`"msg":"${ready}"`)) {
        clearTimeout(timer);
        proc.stdout!.off("data", check);
        resolve();
      }
    };
    proc.stdout!.on("data", check);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${out}`));
    });
    check();
  });
  return role;
}

export async function edge(
  natsUrl: string,
  workers: number,
  env: Record<string, string> = {},
): Promise<Role & { port: number; logs(): string }> {
  const port = await freePort();
  const r = await realer(
    workers > 1 ? `edge (${workers} processes)` : "edge",
    ["edge", "--nats", natsUrl, "--port", String(port), "--workers", String(workers)],
    workers > 1 ? "edge cluster listening" : "edge listening",
    env,
  );
  await waitForPort(port);
  return { ...r, port };
}

export async function ingest(natsUrl: string, key: string): Promise<Role & { port: number; logs(): string }> {
  const port = await freePort();
  const r = await realer(
    "ingest",
    ["ingest", "--nats", natsUrl, "--port", String(port)],
    "ingest listening",
    {
      REALER_INGEST_KEYS: key,
    },
  );
  await waitForPort(port);
  return { ...r, port };
}

export async function worker(natsUrl: string): Promise<Role & { logs(): string }> {
  return realer("worker", ["worker", "--nats", natsUrl], "worker running");
}

/** A server process group to read: its name and its pids now. */
export interface Watched {
  name: string;
  pids: () => number[];
}

/** Every watched group's CPU and memory when `realer bench` printed a phase line. */
export interface PhaseMark {
  phase: string;
  atMs: number;
  samples: Record<string, ProcSample>;
}

export interface BenchRun {
  /** The command line as typed (the CLI path shortened to `realer`). */
  command: string;
  result: BenchResult;
  marks: PhaseMark[];
}

export function sampleWatched(watched: readonly Watched[]): Record<string, ProcSample> {
  const out: Record<string, ProcSample> = {};
  for (const w of watched) out[w.name] = sampleAll(w.pids());
  return out;
}

/** An argument as a shell would need it, long runs of one character shortened and API keys hidden. */
function shown(a: string, i: number, all: string[]): string {
  if (all[i - 1] === "--api-key") return "$KEY";
  const s = a.replace(/(.)\1{19,}/g, (run, c: string) => `<${run.length} x ${c}>`);
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s}'`;
}

/**
 * Runs `realer bench <args> --json --no-report`; resolves with its result
 * and the servers' CPU and memory at each phase line it printed.
 * `onPhase` runs at each phase (e.g. to inject a fault).
 */
export function bench(
  args: string[],
  watched: readonly Watched[],
  onPhase?: (phase: string) => void,
): Promise<BenchRun> {
  const full = [...args, "--json", "--no-report"];
  const command = `realer bench ${full.map(shown).join(" ")}`;
  console.log(`  $ ${command}`);
  const proc = spawn(process.execPath, [CLI, "bench", ...full], {
    env: { ...process.env, REALER_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push({ name: "realer bench", stop: () => stopped(proc, "SIGINT") });
  const marks: PhaseMark[] = [];
  let out = "";
  let err = "";
  let partial = "";
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err = (err + d).slice(-20_000);
    partial += d;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) {
      const m = /^realer bench: (connecting|publishing|step .*|waiting for late messages)$/.exec(l);
      if (!m) continue;
      marks.push({ phase: m[1]!, atMs: Date.now(), samples: sampleWatched(watched) });
      onPhase?.(m[1]!);
    }
  });
  return new Promise((resolve, reject) => {
    proc.once("exit", (code) => {
      const end = { phase: "end", atMs: Date.now(), samples: sampleWatched(watched) };
      marks.push(end);
      if (code !== 0) return reject(new Error(`realer bench exited with ${code}:\n${err}`));
      try {
        const result = JSON.parse(out) as BenchResult;
        // The whole result, for a second look (series, per-subscriber rows).
        mkdirSync(".bench", { recursive: true });
        writeFileSync(
          `.bench/scaling-bench-${result.runId}.json`,
          JSON.stringify({ command, result, marks }),
        );
        resolve({ command, result, marks });
      } catch (e) {
        reject(new Error(`realer bench printed no JSON (${(e as Error).message}):\n${err}`));
      }
    });
  });
}

/** CPU seconds a group used between two marks. */
export function cpuBetween(a: PhaseMark, b: PhaseMark, name: string): number {
  return (b.samples[name]?.cpuS ?? 0) - (a.samples[name]?.cpuS ?? 0);
}

export const mark = (marks: readonly PhaseMark[], phase: string): PhaseMark => {
  const m = marks.find((x) => x.phase === phase);
  if (!m) throw new Error(`realer bench printed no "${phase}" phase`);
  return m;
};

/** `realer bench` flags aimed at realer: SSE from the edge, publishing through the ingest with its key. */
export function realerFlags(edgePort: number, ingestPort: number, key: string): string[] {
  return [
    "--url",
    `http://127.0.0.1:${edgePort}`,
    "--publish-url",
    `http://127.0.0.1:${ingestPort}/v1/events`,
    "--api-key",
    key,
  ];
}

/** `realer bench` flags of a steady run. */
export function steadyFlags(o: {
  subscribers: number;
  channels: number;
  rate: number;
  duration: string;
  grace: string;
}): string[] {
  return [
    "--subscribers",
    String(o.subscribers),
    "--channels",
    String(o.channels),
    "--rate",
    String(o.rate),
    "--duration",
    o.duration,
    "--grace",
    o.grace,
  ];
}

export { settledRss } from "../edge/scenarios.js";

/** The machine's load average over the last minute (context for every figure). */
export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ")[0]!;
}

export { freePort };
