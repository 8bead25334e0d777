/**
 * A realer deployment on loopback, for the fault run: three clustered
 * nats-servers (streams at three replicas), workers, two edges behind
 * HAProxy (deploy/haproxy/haproxy.cfg as shipped), and the HTTP ingest as a
 * process of its own. Every process is real and started from the command
 * line; the fleet kills and restarts them. Each process's output goes to
 * `<dir>/<name>.log`.
 */
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { defaultConfig } from "../../src/config/config.js";
import { type RunningHaproxy, startHaproxy } from "../helpers/haproxy.js";
import { type NatsCluster, type NatsServer, startNatsCluster } from "../helpers/nats-server.js";
import { freePort } from "../helpers/ports.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";
import { waitFor } from "../helpers/wait.js";

export const INGEST_KEY = "fault-run-key";
export const CHANNEL_STREAM = defaultConfig().streams.channels.name;

export interface FleetOptions {
  workers: number;
  /** Logs go here. */
  dir: string;
  /** Extra environment for every realer process. */
  env?: Record<string, string>;
}

/** One realer process of the fleet, restartable on the same port. */
export interface Member {
  name: string;
  role: "worker" | "edge" | "ingest";
  /** HTTP port: the edge's or the ingest's, the worker's metrics port. */
  port: number;
  proc: RealerProcess;
}

const STARTED: Record<Member["role"], string> = {
  worker: "metrics listening",
  edge: "edge listening",
  ingest: "ingest listening",
};

export class Fleet {
  readonly cluster: NatsCluster;
  readonly workers: Member[] = [];
  /** Two: HAProxy's edge1 and edge2. */
  readonly edges: Member[] = [];
  ingest!: Member;
  proxy!: RunningHaproxy;
  /** An admin connection (stream leaders, the audit's snapshots). */
  broker!: JetStreamBroker;
  readonly #o: FleetOptions;
  readonly #env: Record<string, string>;

  private constructor(cluster: NatsCluster, o: FleetOptions) {
    this.cluster = cluster;
    this.#o = o;
    this.#env = {
      REALER_STREAM_REPLICAS: "3",
      REALER_INGEST_KEYS: INGEST_KEY,
      // A claim lost with its worker comes back after 5 s rather than the default 20 s.
      REALER_WORKER_ACK_WAIT_MS: "5000",
      // Every client reaches the edges through HAProxy, so from one address (the proxy limits per client).
      REALER_MAX_CONNECTIONS_PER_ADDRESS: "0",
      ...o.env,
    };
  }

  static async start(o: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(await startNatsCluster(3), o);
    try {
      await fleet.#startAll();
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  async #startAll(): Promise<void> {
    // One process first: it creates the streams, so the others do not race to.
    this.ingest = await this.#member("ingest", "ingest");
    this.broker = await JetStreamBroker.connect({
      servers: this.cluster.urls.split(","),
      name: "fault-admin",
    });
    const starting: Promise<Member>[] = [];
    for (let i = 1; i <= this.#o.workers; i++) starting.push(this.#member("worker", `worker${i}`));
    for (let i = 1; i <= 2; i++) starting.push(this.#member("edge", `edge${i}`));
    for (const m of await Promise.all(starting)) (m.role === "worker" ? this.workers : this.edges).push(m);
    this.proxy = await startHaproxy({ edges: [this.url(this.edges[0]!), this.url(this.edges[1]!)] });
    await this.waitUntilProxied();
  }

  async #member(role: Member["role"], name: string): Promise<Member> {
    const m: Member = { name, role, port: await freePort(), proc: undefined as never };
    await this.#launch(m);
    return m;
  }

  async #launch(m: Member): Promise<void> {
    const urls = this.cluster.urls;
    const args =
      m.role === "worker"
        ? ["worker", "--nats", urls, "--metrics-port", String(m.port)]
        : [m.role, "--nats", urls, "--port", String(m.port)];
    m.proc = spawnRealer(args, this.#env);
    const log = createWriteStream(join(this.#o.dir, `${m.name}.log`), { flags: "a" });
    m.proc.proc.stdout!.on("data", (d: string) => log.write(d));
    m.proc.proc.stderr!.on("data", (d: string) => log.write(d));
    void m.proc.exited.then(() => log.end());
    await m.proc.waitForLog(STARTED[m.role], 90_000);
  }

  /** Whether the member's process runs (not killed, or started again). */
  alive(m: Member): boolean {
    return m.proc.proc.exitCode === null && m.proc.proc.signalCode === null;
  }

  url(m: Member): string {
    return `http://127.0.0.1:${m.port}`;
  }

  /** Resolves once HAProxy's checks hold every running edge in rotation. */
  async waitUntilProxied(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        const s = await this.proxy.servers();
        return this.edges.every((e) => !this.alive(e) || s[e.name]?.status === "UP");
      },
      { timeoutMs, what: "HAProxy to hold every running edge in rotation" },
    );
  }

  /** The /metrics of every running worker and edge, for the audit. */
  metricsUrls(): string[] {
    return [...this.workers, ...this.edges].filter((m) => this.alive(m)).map((m) => `${this.url(m)}/metrics`);
  }

  /** The nats-server leading `stream` now. */
  async leaderOf(stream: string): Promise<{ node: NatsServer; name: string }> {
    const s = await this.broker.streamState(stream);
    const name = s.cluster?.leader;
    if (!name) throw new Error(`${stream} has no leader`);
    // startNatsCluster names its servers "<cluster>-<n>", n from 1.
    const node = this.cluster.nodes[Number(name.slice(name.lastIndexOf("-") + 1)) - 1];
    if (!node) throw new Error(`no node for leader ${name}`);
    return { node, name };
  }

  /** kill -9. */
  async kill(m: Member): Promise<void> {
    await m.proc.stop("SIGKILL");
  }

  /** Starts a killed member again on its port. */
  async restart(m: Member): Promise<void> {
    await m.proc.exited;
    await this.#launch(m);
  }

  /** SIGTERM (an edge drains its clients first), then a new process on the same port. */
  async restartGracefully(m: Member): Promise<void> {
    await m.proc.stop("SIGTERM");
    await this.#launch(m);
  }

  async stop(): Promise<void> {
    await this.proxy?.stop();
    const all = [...this.edges, ...this.workers, ...(this.ingest ? [this.ingest] : [])];
    await Promise.all(all.map((m) => m.proc?.stop("SIGKILL")));
    await this.broker?.close();
    await this.cluster.stop();
  }
}
