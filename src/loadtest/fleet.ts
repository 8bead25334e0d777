/**
 * A load test's subscribers and their coordinator: forks subscriber
 * processes (subscriber-process.ts), gives each a share of the subscribers
 * and of the source addresses (127.0.0.x on loopback, so no single address
 * runs out of ephemeral ports or passes a server's per-address limit, and no
 * process passes the open-file limit), merges their seconds in order and
 * adds up their reports.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Histogram } from "./histogram.js";
import type {
  Command,
  Connected,
  Message,
  Reply,
  Report,
  SecondCounts,
  StreamTarget,
  SubscriberRow,
  SubscriberSpec,
  Totals,
} from "./protocol.js";

// Run from the sources (tsx) or from the build: the child is the same module next to this one.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const CHILD = fileURLToPath(new URL(`./subscriber-process.${FROM_SOURCE ? "ts" : "js"}`, import.meta.url));

export interface FleetOptions {
  target: StreamTarget;
  subscribers: SubscriberSpec[];
  /** Subscriber processes to spread the subscribers over. */
  processes: number;
  /** Source addresses, spread over the processes (empty: the system picks). */
  localAddresses: string[];
  /** Second 0 of the time series starts here, wall-clock microseconds (marker.ts nowUs). */
  originUs: number;
  /** Connections each process opens at once. Default 128. */
  concurrency?: number;
  /** Reconnect delay until a stream sets one, ms. Default 1000. */
  retryMs?: number;
  /** Longest delay between failed attempts, ms. Default 30,000. */
  maxBackoffMs?: number;
  /** An attempt with no response after this long fails, ms. Default 10,000. */
  connectTimeoutMs?: number;
  /** `start` resolves once every stream is open, or after this long, ms. Default 60,000. */
  readyWithinMs?: number;
  /** Every subscriber process exits after this long whatever happens, ms. Default 15 minutes. */
  deadlineMs?: number;
  /** Called once per second of the run, in order, with what every process saw in it. */
  onSecond?: (s: FleetSecond) => void;
}

export interface FleetSecond extends SecondCounts {
  s: number;
  open: number;
  latency: Histogram;
}

export interface FleetReport {
  totals: Totals;
  latency: Histogram;
  window: { deliveries: number; duplicates: number; latency: Histogram };
  rows: SubscriberRow[];
}

/** Source addresses rotate between runs of one process, so sockets left in TIME_WAIT never collide with the next run's. */
let nextSource = 2;
export function takeSourceAddresses(n: number): string[] {
  if (nextSource + n > 255) nextSource = 2;
  const out = Array.from({ length: n }, (_, i) => `127.0.0.${nextSource + i}`);
  nextSource += n;
  return out;
}

/** Process p's share of the source addresses: its own when there are enough, else one shared in turn. */
function shareOf(addresses: string[], k: number, p: number): string[] {
  if (addresses.length === 0) return [];
  if (addresses.length < k) return [addresses[p % addresses.length]!];
  return addresses.filter((_, i) => i % k === p);
}

class SubscriberProcess {
  readonly proc: ChildProcess;
  readonly #waiting: ((r: Reply) => void)[] = [];
  readonly exited: Promise<void>;
  /** One past the last second it sent. */
  through = 0;

  constructor(deadlineMs: number, onSecond: (m: Extract<Message, { type: "second" }>) => void) {
    this.proc = fork(CHILD, [String(deadlineMs)], {
      execArgv: FROM_SOURCE ? ["--import", "tsx"] : [],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.proc.on("message", (m: Message) => {
      if (m.type === "second") {
        this.through = m.s + 1;
        onSecond(m);
      } else this.#waiting.shift()?.(m);
    });
    this.exited = new Promise((r) => this.proc.once("exit", () => r()));
  }

  ask<R extends Reply>(c: Command): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push((r) => resolve(r as R));
      void this.exited.then(() => reject(new Error("a subscriber process exited during the run")));
      this.proc.send(c);
    });
  }

  tell(c: Command): void {
    if (this.proc.connected) this.proc.send(c);
  }
}

export class Fleet {
  readonly #procs: SubscriberProcess[];
  /** Streams open once `start` resolved. */
  readonly connected: number;
  readonly failed: number;
  /** A few reasons why attempts failed. */
  readonly errors: string[];

  private constructor(procs: SubscriberProcess[], c: Connected[]) {
    this.#procs = procs;
    this.connected = c.reduce((s, x) => s + x.ok, 0);
    this.failed = c.reduce((s, x) => s + x.failed, 0);
    this.errors = [...new Set(c.flatMap((x) => x.errors))];
  }

  /** Forks the subscriber processes and resolves once their streams are open (or `readyWithinMs` passed). */
  static async start(o: FleetOptions): Promise<Fleet> {
    const k = Math.max(1, Math.min(o.processes, o.subscribers.length));
    const pending = new Map<number, FleetSecond>();
    let nextOut = 0;
    const procs: SubscriberProcess[] = [];
    const onSecond = (m: Extract<Message, { type: "second" }>) => {
      let merged = pending.get(m.s);
      if (!merged) {
        merged = { ...m, latency: new Histogram() };
        merged.latency.add(m.latency);
        pending.set(m.s, merged);
      } else {
        for (const key of Object.keys(m) as (keyof typeof m)[]) {
          if (key !== "type" && key !== "s" && key !== "latency") merged[key] += m[key];
        }
        merged.latency.add(m.latency);
      }
      // A second is out once every process has sent it.
      const through = Math.min(...procs.map((p) => p.through));
      for (; nextOut < through; nextOut++) {
        const s = pending.get(nextOut);
        pending.delete(nextOut);
        if (s) o.onSecond?.(s);
      }
    };
    for (let p = 0; p < k; p++) procs.push(new SubscriberProcess(o.deadlineMs ?? 900_000, onSecond));
    const replies = await Promise.all(
      procs.map((proc, p) =>
        proc.ask<Connected>({
          cmd: "start",
          target: o.target,
          subscribers: o.subscribers.filter((_, i) => i % k === p),
          localAddresses: shareOf(o.localAddresses, k, p),
          concurrency: o.concurrency ?? 128,
          retryMs: o.retryMs ?? 1_000,
          maxBackoffMs: o.maxBackoffMs ?? 30_000,
          connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
          readyWithinMs: o.readyWithinMs ?? 60_000,
          originUs: o.originUs,
        }),
      ),
    );
    return new Fleet(procs, replies);
  }

  /** Starts a window: its counters count messages numbered from `from[channel]` on. */
  measure(from: number[]): void {
    for (const p of this.#procs) p.tell({ cmd: "measure", from });
  }

  /**
   * Accounts for messages [from[c], to[c]) of every subscriber's channel
   * (publishes in `excused[c]` failed: not lost when missing). With
   * `detail`, every process first sends the seconds it still holds, and
   * the report has a row per subscriber.
   */
  async report(from: number[], to: number[], excused: number[][] = [], detail = false): Promise<FleetReport> {
    const rs = await Promise.all(
      this.#procs.map((p) => p.ask<Report>({ cmd: "report", from, to, excused, detail })),
    );
    const latency = new Histogram();
    const wLatency = new Histogram();
    const totals = { ...rs[0]!.totals };
    for (const k of Object.keys(totals) as (keyof Totals)[]) totals[k] = 0;
    for (const r of rs) {
      latency.add(r.latency);
      wLatency.add(r.window.latency);
      for (const k of Object.keys(totals) as (keyof Totals)[]) totals[k] += r.totals[k];
    }
    return {
      totals,
      latency,
      window: {
        deliveries: rs.reduce((s, r) => s + r.window.deliveries, 0),
        duplicates: rs.reduce((s, r) => s + r.window.duplicates, 0),
        latency: wLatency,
      },
      rows: rs.flatMap((r) => r.rows ?? []).sort((a, b) => a.id - b.id),
    };
  }

  /** The subscriber processes' pids (their CPU is the load test's, not the server's). */
  get pids(): number[] {
    return this.#procs.map((p) => p.proc.pid!).filter(Boolean);
  }

  async close(): Promise<void> {
    for (const p of this.#procs) {
      if (p.proc.connected) p.tell({ cmd: "close" });
      else p.proc.kill("SIGKILL");
    }
    await Promise.all(this.#procs.map((p) => p.exited));
  }
}
