/**
 * A real nats-server per suite: random port, temporary JetStream store,
 * stopped and removed by `stop()`. `restart()` keeps the port and the store.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JetStreamBroker } from "../../src/broker/jetstream-broker.js";
import { waitFor } from "./wait.js";

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
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

async function launch(dir: string, port: number): Promise<{ proc: ChildProcess; port: number }> {
  for (const f of readdirSync(dir)) if (f.endsWith(".ports")) rmSync(join(dir, f));
  const proc = spawn(
    BIN,
    ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dir, "store"), "--ports_file_dir", dir],
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
  const file = await Promise.race([
    waitFor(() => readdirSync(dir).find((f) => f === `nats-server_${proc.pid}.ports`), {
      timeoutMs: 15_000,
      what: "nats-server ports file",
    }),
    exited,
  ]);
  const ports = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nats: string[] };
  const url = ports.nats[0]!;
  return { proc, port: Number(new URL(url).port) };
}

function stopProc(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once("exit", () => resolve());
    proc.kill(signal);
  });
}

export async function startNatsServer(): Promise<NatsServer> {
  checkInstalled();
  const dir = mkdtempSync(join(tmpdir(), "realer-nats-"));
  let { proc, port } = await launch(dir, -1);
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
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
      ({ proc } = await launch(dir, port));
    },
  };
  return server;
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
