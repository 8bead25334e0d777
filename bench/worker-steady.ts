/**
 * The worker's CPU per event at a low, steady rate (the edge benchmark's
 * scenario (b)): a nats-server, `realer worker` as a child process with its
 * default configuration, and a producer emitting CommentCreated events at
 * RATE per second for SECONDS, each routed to one of 100 channels. The CPU
 * of the worker and of nats-server is read from /proc before and after the
 * run (after a warm-up) and printed as microseconds per event.
 *
 *   npm run build && node --import tsx bench/worker-steady.ts
 *
 * Environment: BENCH_RATE (default 500), BENCH_SECONDS (default 20),
 * BENCH_WARMUP_S (default 3), BENCH_WORKER (the CLI entry, default
 * dist/cli/main.js), BENCH_NODE_ARGS (extra node flags for the worker, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { JetStreamBroker } from "../src/broker/jetstream/broker.js";
import { connectProducer } from "../src/cli/wiring.js";
import { defaultConfig } from "../src/config/config.js";
import { CommentCreated, registerComments } from "../src/demo/comments.js";
import { EventRegistry } from "../src/events/registry.js";
import { sample } from "../src/loadtest/proc-stats.js";
import { Publisher } from "../src/loadtest/publisher.js";
import { workerConsumerState } from "../src/ops/worker-consumers.js";
import { startNatsServer } from "../test/helpers/nats-server.js";
import { waitFor } from "../test/helpers/wait.js";

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const CHANNELS = 100;
const ENTRY = process.env.BENCH_WORKER ?? fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);

const server = await startNatsServer();
let worker: ChildProcess | undefined;
const cleanup = async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker!.once("exit", r));
    worker.kill("SIGTERM");
    await exited;
  }
  await server.stop();
};
try {
  const serverPid = server.pid;
  worker = spawn(process.execPath, [...NODE_ARGS, ENTRY, "worker", "--nats", server.url], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, REALER_LOG_LEVEL: "warn" },
  });
  const workerPid = worker.pid!;
  console.error(`worker pid ${workerPid}, nats-server pid ${serverPid}`);
  const cfg = defaultConfig();
  const admin = await JetStreamBroker.connect({ servers: server.url, name: "bench-admin" });
  await waitFor(
    async () => {
      try {
        (await workerConsumerState(admin, cfg))!;
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 15_000, what: "the worker's consumer" },
  );
  const registry = new EventRegistry();
  registerComments(registry);
  const producer = await connectProducer({
    servers: server.url,
    registry,
    prefix: cfg.subjects.events,
    name: "bench",
  });

  // The edge benchmark's publisher: a 5 ms tick kept to the clock, round-robin over the channels.
  const publisher = new Publisher(CHANNELS, async (ch) => {
    const thread = `c${ch}`;
    await producer.emit(CommentCreated, `thread:${thread}`, {
      comment: { id: randomUUID(), threadId: thread, author: "bench", text: "", createdAt: Date.now() },
    });
    return true;
  });
  let sent = 0;
  let failed = 0;
  const run = async (seconds: number) => {
    const r = await publisher.run(RATE, seconds * 1000);
    sent += r.sent;
    failed += r.failed;
  };
  const acked = async () => (await workerConsumerState(admin, cfg))!.ackFloor;

  await run(WARMUP_S);
  await waitFor(async () => (await acked()) >= sent, { timeoutMs: 30_000, what: "warm-up acks" });
  const w0 = sample(workerPid).cpuS;
  const s0 = sample(serverPid).cpuS;
  const from = sent;
  const t0 = performance.now();
  await run(SECONDS);
  await waitFor(async () => (await acked()) >= sent, { timeoutMs: 30_000, what: "acks" });
  const w1 = sample(workerPid).cpuS;
  const s1 = sample(serverPid).cpuS;
  const seconds = (performance.now() - t0) / 1000;
  const n = sent - from;
  const us = (s: number) => ((s * 1e6) / n).toFixed(0);
  console.log(
    JSON.stringify({
      rate: RATE,
      events: n,
      seconds: Number(seconds.toFixed(1)),
      failed,
      workerUsPerEvent: Number(us(w1 - w0)),
      natsUsPerEvent: Number(us(s1 - s0)),
      workerCpuS: Number((w1 - w0).toFixed(2)),
      natsCpuS: Number((s1 - s0).toFixed(2)),
      loadavg: loadavg().map((x) => Number(x.toFixed(2))),
    }),
  );
  await producer.close();
  await admin.close();
} finally {
  await cleanup();
}
