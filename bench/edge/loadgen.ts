/**
 * The load generator's coordinator: forks client processes, gives each a
 * share of the connections and its own source address (127.0.0.x, so no
 * single address runs out of ephemeral ports and no process passes the
 * per-process open-file limit), and adds up their reports.
 */
import { type ChildProcess, fork } from "node:child_process";
import { Histogram } from "./histogram.js";
import type { Command, Connected, Reply, Report } from "./protocol.js";

const CLIENT = new URL("./client.ts", import.meta.url).pathname;

export interface LoadGenOptions {
  host: string;
  port: number;
  /** One request path per connection. */
  paths: string[];
  /** The channel index of each connection. */
  channelOf: number[];
  /** Client processes to spread the connections over. */
  processes: number;
  /** Most messages the run publishes to one channel. */
  maxPerChannel: number;
  /** Connections each process opens at once. Default 128. */
  concurrency?: number;
  /** Every client process exits after this long whatever happens, ms. Default 15 minutes. */
  deadlineMs?: number;
}

export interface Totals extends Omit<Report, "type" | "latency"> {
  latency: Histogram;
}

/** Source addresses rotate between runs, so sockets left in TIME_WAIT by one run never collide with the next. */
let nextAddress = 10;
function takeAddresses(n: number): string[] {
  if (nextAddress + n > 250) nextAddress = 10;
  const out = Array.from({ length: n }, (_, i) => `127.0.0.${nextAddress + i}`);
  nextAddress += n;
  return out;
}

class ClientProcess {
  readonly proc: ChildProcess;
  readonly #waiting: ((r: Reply) => void)[] = [];
  readonly exited: Promise<void>;

  constructor(deadlineMs: number) {
    this.proc = fork(CLIENT, [String(deadlineMs)], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.proc.on("message", (r: Reply) => this.#waiting.shift()?.(r));
    this.exited = new Promise((r) => this.proc.once("exit", () => r()));
  }

  ask<R extends Reply>(c: Command): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push((r) => resolve(r as R));
      void this.exited.then(() => reject(new Error("a load-generator client process exited")));
      this.proc.send(c);
    });
  }

  tell(c: Command): void {
    this.proc.send(c);
  }
}

export class LoadGen {
  readonly #clients: ClientProcess[];
  /** Connections open after `start`. */
  readonly connected: number;
  readonly failed: number;
  readonly errors: string[];

  private constructor(clients: ClientProcess[], c: Connected[]) {
    this.#clients = clients;
    this.connected = c.reduce((s, x) => s + x.ok, 0);
    this.failed = c.reduce((s, x) => s + x.failed, 0);
    this.errors = [...new Set(c.flatMap((x) => x.errors))];
  }

  /** Forks the client processes and opens every connection. */
  static async start(o: LoadGenOptions): Promise<LoadGen> {
    const k = Math.max(1, Math.min(o.processes, o.paths.length));
    const addresses = takeAddresses(k);
    const clients = addresses.map(() => new ClientProcess(o.deadlineMs ?? 900_000));
    const replies = await Promise.all(
      clients.map((c, p) => {
        const idx = o.paths.map((_, i) => i).filter((i) => i % k === p);
        return c.ask<Connected>({
          cmd: "connect",
          host: o.host,
          port: o.port,
          paths: idx.map((i) => o.paths[i]!),
          channelOf: idx.map((i) => o.channelOf[i]!),
          localAddress: addresses[p]!,
          concurrency: o.concurrency ?? 128,
          maxPerChannel: o.maxPerChannel,
        });
      }),
    );
    return new LoadGen(clients, replies);
  }

  /** Starts a measured window: latency counts messages numbered from `from[channel]` on. */
  measure(from: number[]): void {
    for (const c of this.#clients) c.tell({ cmd: "measure", from });
  }

  /** Tallies messages [from, to) of every connection's channel, over all processes. */
  async report(to: number[]): Promise<Totals> {
    const rs = await Promise.all(this.#clients.map((c) => c.ask<Report>({ cmd: "report", to })));
    const latency = new Histogram();
    for (const r of rs) latency.add(r.latency);
    const sum = (f: (r: Report) => number) => rs.reduce((s, r) => s + f(r), 0);
    const firsts = rs.map((r) => r.firstUs).filter((x) => x > 0);
    return {
      open: sum((r) => r.open),
      dropped: sum((r) => r.dropped),
      deliveries: sum((r) => r.deliveries),
      lost: sum((r) => r.lost),
      duplicates: sum((r) => r.duplicates),
      strays: sum((r) => r.strays),
      latency,
      firstUs: firsts.length ? Math.min(...firsts) : 0,
      lastUs: Math.max(0, ...rs.map((r) => r.lastUs)),
    };
  }

  /** The client processes' pids (their CPU is the generator's, not the server's). */
  get pids(): number[] {
    return this.#clients.map((c) => c.proc.pid!).filter(Boolean);
  }

  async close(): Promise<void> {
    for (const c of this.#clients) {
      if (c.proc.connected) c.tell({ cmd: "close" });
      else c.proc.kill("SIGKILL");
    }
    await Promise.all(this.#clients.map((c) => c.exited));
  }
}
