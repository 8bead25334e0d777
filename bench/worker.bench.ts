/**
 * `npm run bench -- worker`: events/s through the worker, decode -> validate
 * -> route -> format -> publish -> ack, for 100,000 events on a real
 * nats-server, against the raw floor measured in the same run: the same
 * client and pull settings consuming, publishing one channel message and
 * acking, with no stages. Each phase gets a fresh server with the events
 * already stored (storing them is not timed). Phases alternate, floor first;
 * the median of each is reported with the ratio, and the worker's RSS is
 * sampled through its run to show that memory stays flat.
 *
 * Environment: BENCH_EVENTS (default 100000), BENCH_ROUNDS (default 3),
 * BENCH_IN_FLIGHT (default 256, the worker's maxInFlight), BENCH_ONLY (floor or
 * worker: run one phase, e.g. under --cpu-prof), BENCH_STAGES (the worker's stage
 * list after decode, default validate,route,format,publish).
 */

import { randomUUID } from "node:crypto";
import { JetStreamBroker } from "../src/broker/jetstream/broker.js";
import type { Delivery } from "../src/broker/types.js";
import { defaultConfig, type RealerConfig } from "../src/config/config.js";
import { CommentCreated, registerComments } from "../src/demo/comments.js";
import { createEvent, encodeChannelMessage, encodeEvent } from "../src/events/envelope.js";
import { eventSubject } from "../src/events/partition.js";
import { EventRegistry } from "../src/events/registry.js";
import { createLogger } from "../src/log/logger.js";
import { compilePipeline } from "../src/pipeline/pipeline.js";
import { Worker } from "../src/worker/worker.js";
import { startNatsServer } from "../test/helpers/nats-server.js";

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 256);
const ONLY = process.env.BENCH_ONLY;
const STAGES = (process.env.BENCH_STAGES ?? "validate,route,format,publish").split(",").filter(Boolean);
const THREADS = 1000;
const MB = 1024 * 1024;
const TEXT =
  'A comment of about a hundred characters, with <b>markup</b> & quotes "to" escape, as users write.';
const handlers = registerComments(new EventRegistry());

interface Result {
  eventsPerSec: number;
  seconds: number;
  rssMb: number[];
  /** CPU time of this (client) process per event, microseconds. */
  cpuUs: number;
}

const cpuSince = (c: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c);
  return (d.user + d.system) / N;
};

function benchConfig(url: string): RealerConfig {
  const cfg = defaultConfig();
  cfg.nats = url;
  cfg.worker.maxInFlight = IN_FLIGHT;
  cfg.worker.ackWaitMs = 60_000;
  cfg.worker.fetchExpiresMs = 2_000;
  cfg.logLevel = "silent";
  return cfg;
}

/** A fresh server holding N comment events on the events stream. */
/** Servers still running; killed on exit even when a phase throws, so none is left behind. */
const servers = new Set<{ kill(): Promise<void> }>();
process.once("exit", () => {
  for (const s of servers) void s.kill();
});
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => process.exit(130));

async function prepare() {
  const server = await startNatsServer();
  servers.add(server);
  const cfg = benchConfig(server.url);
  const broker = await JetStreamBroker.connect({ servers: server.url, name: "bench" });
  for (const spec of Object.values(cfg.streams)) await broker.ensureStream(spec);
  for (let i = 0; i < N; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 500); j++) {
      const thread = `t${j % THREADS}`;
      const payload = CommentCreated.encode({
        comment: {
          id: randomUUID(),
          threadId: thread,
          author: `user${j % 97}`,
          text: TEXT,
          createdAt: Date.now(),
        },
      } as never);
      const e = createEvent({
        type: CommentCreated.name,
        key: `thread:${thread}`,
        payload,
        producer: "bench",
      });
      batch.push(
        broker.publish(
          eventSubject(cfg.subjects.events, cfg.subjects.eventPartitions, e.type, e.key),
          encodeEvent(e),
          {
            msgId: e.id,
          },
        ),
      );
    }
    await Promise.all(batch);
  }
  return {
    server,
    cfg,
    broker,
    async close() {
      await broker.close();
      await server.stop();
      servers.delete(server);
    },
  };
}

/** RSS samples at 10%, 25%, 50%, 75% and 100% of the run. */
function sampler() {
  const marks = [0.1, 0.25, 0.5, 0.75, 1].map((f) => Math.max(1, Math.round(f * N)));
  const rss: number[] = [];
  return {
    rss,
    at(done: number) {
      if (done === marks[rss.length]) rss.push(Math.round(process.memoryUsage().rss / MB));
    },
  };
}

/** The floor: fetch with the worker's credit bound, publish one channel message, ack. */
async function floor(): Promise<Result> {
  const fx = await prepare();
  const { broker, cfg } = fx;
  const w = cfg.worker;
  await broker.ensureConsumer({
    stream: cfg.streams.events.name,
    durable: w.durable,
    ackWaitMs: w.ackWaitMs,
    maxDeliver: w.maxDeliver + 1,
    maxAckPending: 4096,
  });
  // The same bytes the worker publishes: the demo handler's rendering of the
  // same comment, an event id and a trace id of the same lengths.
  const data = JSON.stringify(
    handlers
      .get(CommentCreated.name)!
      .format(
        { comment: { id: randomUUID(), threadId: "t1", author: "user1", text: TEXT, createdAt: Date.now() } },
        createEvent({ type: CommentCreated.name, key: "k", payload: new Uint8Array() }),
        {},
      ).data,
  );
  const traceId = "0".repeat(32);
  const idOf = (seq: number) => String(seq).padStart(36, "0");
  const rss = sampler();
  // The worker's credit loop (src/worker/worker.ts), without the pipeline:
  // pulls run side by side, each reserving its credit, and a new one starts
  // when a quarter of the credit is free.
  let inFlight = 0;
  let reserved = 0;
  let done = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const changed = () => new Promise<void>((r) => (wake = r));
  const handle = async (d: Delivery) => {
    const channel = `thread:t${d.seq % THREADS}`;
    await broker.publish(
      `${cfg.subjects.channels}.${channel}`,
      encodeChannelMessage({ channel, eventId: idOf(d.seq), type: "comment.created", data, traceId }),
      { msgId: `${idOf(d.seq)}:${channel}` },
    );
    d.ack();
    inFlight--;
    rss.at(++done);
    notify();
  };
  const launch = (n: number) => {
    reserved += n;
    void (async () => {
      let got = 0;
      for await (const d of broker.fetch(cfg.streams.events.name, w.durable, {
        max: n,
        expiresMs: w.fetchExpiresMs,
      })) {
        got++;
        reserved--;
        inFlight++;
        void handle(d);
      }
      reserved -= n - got;
      notify();
    })();
  };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const threshold = Math.max(1, Math.floor(IN_FLIGHT / 4));
  while (done < N) {
    const free = IN_FLIGHT - inFlight - reserved;
    if (free >= threshold || (free > 0 && inFlight === 0 && reserved === 0)) launch(free);
    await changed();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuUs = cpuSince(c0);
  await fx.close();
  return { eventsPerSec: N / seconds, seconds, rssMb: rss.rss, cpuUs };
}

/** The worker with the standard stages, as `realer worker` runs it. */
async function worker(): Promise<Result> {
  const fx = await prepare();
  const { broker, cfg } = fx;
  const registry = new EventRegistry();
  const handlers = registerComments(registry);
  const rss = sampler();
  let done = 0;
  let finished: () => void = () => {};
  const all = new Promise<void>((r) => (finished = r));
  const w = new Worker({
    broker,
    stream: cfg.streams.events.name,
    eventPrefix: cfg.subjects.events,
    partitions: cfg.subjects.eventPartitions,
    deadLetterPrefix: cfg.subjects.deadLetters,
    config: cfg.worker,
    pipeline: compilePipeline({
      broker,
      registry,
      handlers,
      channelPrefix: cfg.subjects.channels,
      spec: { "*": STAGES },
    }),
    log: createLogger({ level: "silent" }),
    onSettled: (s) => {
      if (s.outcome !== "acked")
        throw new Error(`event ${s.job.delivery.seq} was ${s.outcome}: ${s.job.failure?.error.message}`);
      rss.at(++done);
      if (done === N) finished();
    },
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await w.start();
  await all;
  const seconds = (performance.now() - t0) / 1000;
  const cpuUs = cpuSince(c0);
  await w.stop();
  await fx.close();
  return { eventsPerSec: N / seconds, seconds, rssMb: rss.rss, cpuUs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const fmt = (r: Result) =>
  `${Math.round(r.eventsPerSec)} events/s (${r.seconds.toFixed(2)} s), client CPU ${r.cpuUs.toFixed(0)} us/event, ` +
  `RSS MB at 10/25/50/75/100%: ${r.rssMb.join(" ")}`;

const floors: Result[] = [];
const workers: Result[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  if (ONLY !== "worker") {
    const f = await floor();
    floors.push(f);
    console.log(`round ${round} floor : ${fmt(f)}`);
  }
  if (ONLY !== "floor") {
    const w = await worker();
    workers.push(w);
    console.log(`round ${round} worker: ${fmt(w)}`);
  }
  if (!ONLY)
    console.log(
      `round ${round} ratio : ${((workers.at(-1)!.eventsPerSec / floors.at(-1)!.eventsPerSec) * 100).toFixed(1)}%`,
    );
}
if (ONLY) process.exit(0);
const fMed = median(floors.map((r) => r.eventsPerSec));
const wMed = median(workers.map((r) => r.eventsPerSec));
const peakRss = Math.max(...workers.flatMap((r) => r.rssMb));
console.log(
  `\nworker pipeline, ${N} events, maxInFlight ${IN_FLIGHT}, ${ROUNDS} round(s), medians:\n` +
    `  floor (fetch + publish + ack): ${Math.round(fMed)} events/s\n` +
    `  worker (decode -> validate -> route -> format -> publish -> ack): ${Math.round(wMed)} events/s\n` +
    `  ratio of the medians: ${((wMed / fMed) * 100).toFixed(1)}% of the floor\n` +
    `  median of the per-round ratios (paired, same load): ${(median(workers.map((w, i) => w.eventsPerSec / floors[i]!.eventsPerSec)) * 100).toFixed(1)}% (goal >= 80%)\n` +
    `  worker client CPU: ${median(workers.map((r) => r.cpuUs)).toFixed(0)} us/event vs floor ${median(floors.map((r) => r.cpuUs)).toFixed(0)}; worker peak RSS ${peakRss} MB`,
);
