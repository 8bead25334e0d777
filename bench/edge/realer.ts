/**
 * realer as a user runs it: a nats-server with JetStream (started here on a
 * random port), `realer worker`, and `realer edge --workers N` behind one
 * port. Messages take the real path: a producer (the SDK, as an
 * application's save hook emits, or HTTP ingest: POST /v1/events) -> events
 * stream -> worker pipeline -> channel stream -> edges -> SSE. The "edge
 * only" variant publishes channel messages straight to the channel stream,
 * to show where the time goes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { connectProducer } from "../../src/cli/wiring.js";
import { defaultConfig } from "../../src/config/config.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { channelSubject } from "../../src/events/channel.js";
import { encodeChannelMessage } from "../../src/events/envelope.js";
import { marker } from "../../src/loadtest/marker.js";
import { tree } from "../../src/loadtest/proc-stats.js";
import type { Producer } from "../../src/producer/producer.js";
import { type NatsServer, startNatsServer } from "../../test/helpers/nats-server.js";
import { freePort, poster, type SystemUnderTest, waitForPort } from "./system.js";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The built CLI when there is one (`make bench` builds first); the sources through tsx otherwise. */
function cli(): string[] {
  const dist = `${ROOT}dist/cli/main.js`;
  if (existsSync(dist) && process.env.REALER_BENCH_SOURCE !== "1") return [dist];
  return ["--import", "tsx", `${ROOT}src/cli/main.ts`];
}

export interface RealerOptions {
  edgeWorkers: number;
  /**
   * "producer": events emitted with the producer SDK (in the bench's own
   * process, as an application would), then a worker; "ingest": through POST
   * /v1/events (served by the edge processes) and a worker; "edge": channel
   * messages straight onto the channel stream.
   */
  path: "producer" | "ingest" | "edge";
  /** When set, edge processes run with `--cpu-prof` and write their profiles here. */
  profileDir?: string;
  /** Extra Node.js options for the edge processes (e.g. GC flags), and a file their stdout is appended to. */
  edgeNodeArgs?: string[];
  edgeLog?: string;
  /** The same for the worker process. */
  workerNodeArgs?: string[];
  workerLog?: string;
}

function run(
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
): { proc: ChildProcess; ready: (msg: string) => Promise<void> } {
  // node:cluster forks with the primary's exec arguments, so every edge process gets `nodeArgs`.
  const proc = spawn(process.execPath, [...nodeArgs, ...cli(), ...args], {
    env: { ...process.env, REALER_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  const waiters: [string, () => void][] = [];
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out = (out + d).slice(-100_000);
    for (const [msg, resolve] of waiters) if (out.includes(`"msg":"${msg}"`)) resolve();
  });
  const ready = (msg: string) =>
    new Promise<void>((resolve, reject) => {
      if (out.includes(`"msg":"${msg}"`)) return resolve();
      // Bounded: a process that neither gets ready nor exits must not hang the benchmark.
      const timer = setTimeout(() => reject(new Error(`realer ${args[0]}: no "${msg}" within 60 s`)), 60_000);
      waiters.push([
        msg,
        () => {
          clearTimeout(timer);
          resolve();
        },
      ]);
      proc.once("exit", (code) => reject(new Error(`realer ${args[0]} exited with ${code} before "${msg}"`)));
    });
  return { proc, ready };
}

const stopped = (p: ChildProcess) =>
  new Promise<void>((r) => {
    if (p.exitCode !== null || p.signalCode !== null) return r();
    p.once("exit", () => r());
    p.kill("SIGTERM");
  });

/** The event both full paths publish: comment `n` of thread `c<ch>`, its id the marker (marker.ts). */
const commentBody = (ch: number, n: number, tUs: number) => ({
  comment: {
    id: marker(ch, n, tUs),
    threadId: `c${ch}`,
    author: "bench",
    text: "",
    createdAt: Math.floor(tUs / 1000),
  },
});

const PATH_LABEL: Record<RealerOptions["path"], string> = {
  producer: "producer SDK -> JetStream -> worker -> edge",
  ingest: "HTTP ingest -> JetStream -> worker -> edge",
  edge: "edge only",
};

export async function startRealer(o: RealerOptions): Promise<SystemUnderTest> {
  const nats = await startNatsServer();
  const started: ChildProcess[] = [];
  try {
    return await startOn(nats, started, o);
  } catch (err) {
    // A start that fails half way leaves nothing running.
    for (const p of started.reverse()) await stopped(p);
    await nats.stop();
    throw err;
  }
}

async function startOn(
  nats: NatsServer,
  started: ChildProcess[],
  o: RealerOptions,
): Promise<SystemUnderTest> {
  const port = await freePort();
  const cfg = defaultConfig();
  // The load generator holds thousands of connections per source address; a per-address cap would refuse it.
  const ingestKey = randomUUID();
  const edge = run(
    ["edge", "--workers", String(o.edgeWorkers), "--port", String(port), "--nats", nats.url],
    {
      REALER_MAX_CONNECTIONS_PER_ADDRESS: "0",
      REALER_INGEST_KEYS: ingestKey,
    },
    [...(o.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${o.profileDir}`] : []), ...(o.edgeNodeArgs ?? [])],
  );
  if (o.edgeLog) edge.proc.stdout!.pipe(createWriteStream(o.edgeLog, { flags: "a" }));
  started.push(edge.proc);
  await edge.ready(o.edgeWorkers > 1 ? "edge cluster listening" : "edge listening");
  await waitForPort(port);
  let worker: ReturnType<typeof run> | undefined;
  let broker: JetStreamBroker | undefined;
  let producer: Producer | undefined;
  let publish: SystemUnderTest["publish"];
  if (o.path !== "edge") {
    worker = run(["worker", "--nats", nats.url], {}, o.workerNodeArgs ?? []);
    if (o.workerLog) worker.proc.stdout!.pipe(createWriteStream(o.workerLog, { flags: "a" }));
    started.push(worker.proc);
    await worker.ready("worker running");
  }
  if (o.path === "producer") {
    const p = await connectProducer({ servers: nats.url, name: "realer-bench" });
    producer = p;
    publish = async (ch, n, t) => {
      await p.emit(CommentCreated, `thread:c${ch}`, commentBody(ch, n, t));
      return true;
    };
  } else if (o.path === "ingest") {
    const post = poster(port, { authorization: `Bearer ${ingestKey}` });
    publish = (ch, n, t) =>
      post(
        "/v1/events",
        JSON.stringify({
          type: CommentCreated.name,
          key: `thread:c${ch}`,
          data: commentBody(ch, n, t),
        }),
        "application/json",
      );
  } else {
    const b = await JetStreamBroker.connect({ servers: nats.url, name: "realer-bench" });
    broker = b;
    publish = async (ch, n, t) => {
      const channel = `thread:c${ch}`;
      const data = JSON.stringify({
        id: marker(ch, n, t),
        threadId: `c${ch}`,
        author: "bench",
        html: "",
        createdAt: Math.floor(t / 1000),
      });
      const eventId = randomUUID();
      await b.publish(
        channelSubject(cfg.subjects.channels, channel),
        encodeChannelMessage({ channel, eventId, type: "comment.created", data }),
        { msgId: `${eventId}:${channel}` },
      );
      return true;
    };
  }
  const workers = o.edgeWorkers;
  return {
    name: `realer (${PATH_LABEL[o.path]}, ${workers} edge process${workers > 1 ? "es" : ""})`,
    host: "127.0.0.1",
    port,
    subscribePath: (ch) => `/v1/sse?channel=thread:c${ch}`,
    publish,
    pids: () => ({
      edge: tree(edge.proc.pid!),
      ...(worker ? { worker: tree(worker.proc.pid!) } : {}),
      "nats-server": [nats.pid],
    }),
    async stop() {
      await producer?.close();
      await broker?.close();
      if (worker) await stopped(worker.proc);
      await stopped(edge.proc);
      await nats.stop();
    },
  };
}
