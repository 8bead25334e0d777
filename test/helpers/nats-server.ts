/**
 * A real nats-server per suite: random port, temporary JetStream store,
 * stopped and removed by `stop()`. `restart()` keeps the port and the store.
 * `startNatsCluster()` starts several as one JetStream cluster.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { freePort } from "./ports.js";
import { waitFor } from "./wait.js";

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** The monitoring endpoint's base URL, when started with `monitor`. */
  readonly monitorUrl: string | undefined;
  /** The server's process id (a new one after `restart()`). */
  readonly pid: number;
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port with the same store. */
  restart(): Promise<void>;
  kill(): Promise<void>;
}

const BIN = process.env.NATS_SERVER_BIN ?? "nats-server";

function checkInstalled(): void {
  const r = spawnSync(BIN, ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error(
      `nats-server is not installed (tried "${BIN}"): apt-get install nats-server, or set NATS_SERVER_BIN`,
    );
  }
}

interface Ports {
  nats: string[];
  monitoring?: string[];
}

/** The server's ports file once it is there and whole; undefined before. */
function readPorts(dir: string, name: string): Ports | undefined {
  if (!readdirSync(dir).includes(name)) return undefined;
  try {
    return JSON.parse(readFileSync(join(dir, name), "utf8")) as Ports;
  } catch {
    return undefined;
  }
}

async function launch(
  dir: string,
  port: number,
  extra: string[] = [],
): Promise<{ proc: ChildProcess; port: number; monitoring: string | undefined }> {
  for (const f of readdirSync(dir)) if (f.endsWith(".ports")) rmSync(join(dir, f));
  const proc = spawn(
    BIN,
    ["-a", "127.0.0.1", "-p", String(port), "-sd", join(dir, "store"), "--ports_file_dir", dir, ...extra],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) =>
    proc.once("exit", (code) => reject(new Error(`nats-server exited with ${code}: ${stderr}`))),
  );
  exited.catch(() => {});
  // The file appears before the server has written it whole: wait until it parses.
  const ports = await Promise.race([
    waitFor(() => readPorts(dir, `nats-server_${proc.pid}.ports`), {
      timeoutMs: 15_000,
      what: "nats-server ports file",
    }),
    exited,
  ]);
  const url = ports.nats[0]!;
  return { proc, port: Number(new URL(url).port), monitoring: ports.monitoring?.[0] };
}

function stopProc(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once("exit", () => resolve());
    proc.kill(signal);
  });
}

export interface NatsServerOptions {
  /** Enable JetStream. Default true. */
  jetstream?: boolean;
  /** Serve the monitoring endpoints (/connz, /jsz, ...) on a random port: `monitorUrl`. Default false. */
  monitor?: boolean;
  /** Accept only clients with this user and password. Default: anyone. */
  auth?: { user: string; pass: string };
}

export async function startNatsServer(o: NatsServerOptions = {}): Promise<NatsServer> {
  checkInstalled();
  return startNode([
    ...(o.jetstream === false ? [] : ["-js"]),
    ...(o.monitor ? ["-m", "-1"] : []),
    ...(o.auth ? ["--user", o.auth.user, "--pass", o.auth.pass] : []),
  ]);
}

/** One server: `extra` arguments are kept for restarts (a cluster node keeps its name and routes). */
async function startNode(extra: string[]): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), "realer-nats-"));
  let { proc, port, monitoring } = await launch(dir, -1, extra);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get monitorUrl() {
      return monitoring;
    },
    storeDir: join(dir, "store"),
    get pid() {
      return proc.pid!;
    },
    async stop() {
      await stopProc(proc, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await stopProc(proc, "SIGKILL");
    },
    async restart() {
      await stopProc(proc, "SIGTERM");
      ({ proc, monitoring } = await launch(dir, port, extra));
    },
  };
}

export interface NatsCluster {
  nodes: NatsServer[];
  /** Every node's client URL, comma separated, as `--nats` and REALER_NATS_URL take them. */
  urls: string;
  stop(): Promise<void>;
}

/**
 * `size` servers routed to each other as one JetStream cluster (each with its own
 * store), ready once JetStream answers through every node: its meta leader is elected.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  checkInstalled();
  // The route ports are picked free and bound a moment later by nats-server: another
  // process may take one in between, and then that server exits. Three tries.
  for (let attempt = 1; ; attempt++) {
    try {
      return await tryCluster(size);
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

async function tryCluster(size: number): Promise<NatsCluster> {
  const name = `realer-test-${process.pid}`;
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const nodes: NatsServer[] = [];
  const stopAll = async () => {
    for (const n of nodes) await n.stop();
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await startNode([
          "-js",
          "-n",
          `${name}-${i + 1}`,
          "--cluster_name",
          name,
          "--cluster",
          `nats://127.0.0.1:${routePorts[i]}`,
          "--routes",
          routes,
        ]),
      );
    }
    for (const n of nodes) {
      await waitFor(
        async () => {
          const b = await JetStreamBroker.connect({ servers: n.url, name: "cluster-ready" });
          try {
            await b.ensureStream({ name: "READY", subjects: ["cluster.ready"], replicas: size, maxMsgs: 1 });
            return true;
          } finally {
            await b.close();
          }
        },
        { timeoutMs: 30_000, intervalMs: 250, what: `JetStream on ${n.url}` },
      );
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { nodes, urls: nodes.map((n) => n.url).join(","), stop: stopAll };
}

/** A nats-server and a JetStreamBroker connected to it; `close()` stops both. */
export async function startJetStream(): Promise<{
  server: NatsServer;
  broker: JetStreamBroker;
  close(): Promise<void>;
}> {
  const server = await startNatsServer();
  const broker = await JetStreamBroker.connect({ servers: server.url });
  return {
    server,
    broker,
    async close() {
      await broker.close();
      await server.stop();
    },
  };
}
