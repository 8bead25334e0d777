/**
 * Helpers for the worker tests: realer's streams on a suite's broker (or a
 * real nats-server of their own), comment events, the channel stream read
 * back, consumer counts, and worker processes spawned from the real CLI.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import type { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import type { AdminBroker, Broker } from "../../src/broker/types.js";
import { ensureStreams, loadDomain } from "../../src/cli/components.js";
import type { RealerConfig } from "../../src/config/config.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { createEvent, decodeChannelMessage, type Event, encodeEvent } from "../../src/events/envelope.js";
import { eventSubject } from "../../src/events/partition.js";
import { createLogger } from "../../src/log/logger.js";
import { workerConsumerState } from "../../src/ops/worker-consumers.js";
import { compilePipeline, type PipelineSpec } from "../../src/pipeline/pipeline.js";
import type { Settled } from "../../src/pipeline/settle.js";
import { Worker } from "../../src/worker/worker.js";
import type { SuiteBroker } from "../helpers/brokers.js";
import { type NatsServer, startJetStream } from "../helpers/nats-server.js";
import { testConfig } from "../helpers/stack.js";

export interface JsFixture {
  server: NatsServer;
  broker: JetStreamBroker;
  cfg: RealerConfig;
  close(): Promise<void>;
}

/** A nats-server of its own, a broker on it and realer's streams, with a test config. */
export async function startJs(over: (c: RealerConfig) => void = () => {}): Promise<JsFixture> {
  const js = await startJetStream();
  const cfg = testConfig((c) => {
    c.nats = js.server.url;
    over(c);
  });
  await ensureStreams(js.broker, cfg);
  return { ...js, cfg };
}

export interface WorkerFixture {
  broker: AdminBroker;
  cfg: RealerConfig;
}

let fixtures = 0;

/**
 * Realer's streams on the suite's broker under names of their own, with a
 * test config: tests that share one broker never see each other's messages
 * or consumers. On JetStream the streams are on file, as in a deployment.
 * `defaultNames` keeps realer's own names, for a worker process started from
 * the CLI (which knows only those): one such fixture per suite.
 */
export async function startWorkerFixture(
  sb: SuiteBroker,
  over: (c: RealerConfig) => void = () => {},
  opts: { defaultNames?: boolean } = {},
): Promise<WorkerFixture> {
  const tag = `w${++fixtures}p${process.pid}`;
  const cfg = testConfig((c) => {
    c.nats = sb.server?.url;
    if (opts.defaultNames) return over(c);
    c.subjects = {
      ...c.subjects,
      events: `${tag}.events`,
      channels: `${tag}.ch`,
      deadLetters: `${tag}.dlq`,
      live: `${tag}.live`,
    };
    const { events, channels, deadLetters } = c.streams;
    const name = (s: string) => `${tag.toUpperCase()}_${s}`;
    c.streams = {
      events: { ...events, name: name("EVENTS"), subjects: [`${c.subjects.events}.>`] },
      channels: {
        ...channels,
        name: name("CHANNELS"),
        subjects: [`${c.subjects.channels}.>`],
        republish: c.subjects.live,
      },
      deadLetters: { ...deadLetters, name: name("DLQ"), subjects: [`${c.subjects.deadLetters}.>`] },
    };
    over(c);
  });
  await ensureStreams(sb.broker, cfg);
  return { broker: sb.broker, cfg };
}

/** A CommentCreated event on thread `thread`, keyed by the thread. */
export function comment(thread: string, text: string, id = randomUUID()): Event {
  const payload = CommentCreated.encode({
    comment: { id: randomUUID(), threadId: thread, author: "ann", text, createdAt: Date.now() },
  } as never);
  return createEvent({ id, type: CommentCreated.name, key: `thread:${thread}`, payload, producer: "test" });
}

/** Stores events on the events stream, `window` publishes at a time, in order within each window's start. */
export async function publishEvents(
  broker: Broker,
  cfg: RealerConfig,
  events: Event[],
  window = 256,
): Promise<void> {
  for (let i = 0; i < events.length; i += window) {
    await Promise.all(
      events
        .slice(i, i + window)
        .map((e) => broker.publish(eventSubjectOf(cfg, e), encodeEvent(e), { msgId: e.id })),
    );
  }
}

/** Stores events one after another, so the stream holds them in exactly this order. */
export async function publishInOrder(broker: Broker, cfg: RealerConfig, events: Event[]): Promise<void> {
  for (const e of events) await broker.publish(eventSubjectOf(cfg, e), encodeEvent(e), { msgId: e.id });
}

/** The subject a producer publishes `e` to under `cfg`. */
export function eventSubjectOf(cfg: RealerConfig, e: Event): string {
  return eventSubject(cfg.subjects.events, cfg.subjects.eventPartitions, e.type, e.key || e.id);
}

export interface ChannelRecord {
  seq: number;
  channel: string;
  eventId: string;
  data: string;
}

/** Every message of the channel stream, in stream order. */
export async function readChannels(broker: Broker, cfg: RealerConfig): Promise<ChannelRecord[]> {
  const out: ChannelRecord[] = [];
  const { lastSeq } = await broker.streamState(cfg.streams.channels.name);
  if (lastSeq === 0) return out;
  for await (const m of broker.read(cfg.streams.channels.name, { fromSeq: 1 })) {
    const cm = decodeChannelMessage(m.data);
    out.push({ seq: m.seq, channel: cm.channel, eventId: cm.eventId, data: cm.data });
  }
  return out;
}

export interface ConsumerCounts {
  /** Not yet delivered. */
  pending: number;
  /** Delivered and not yet settled. */
  ackPending: number;
  /** Messages delivered more than once so far. */
  redelivered: number;
}

/** The workers' counts over every partition's consumer, as the broker reports them. */
export async function consumerCounts(broker: AdminBroker, cfg: RealerConfig): Promise<ConsumerCounts> {
  const c = await workerConsumerState(broker, cfg);
  return { pending: c?.pending ?? 0, ackPending: c?.ackPending ?? 0, redelivered: c?.redelivered ?? 0 };
}

export interface WorkerProcess {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** `realer worker --nats URL` in a child process, configured through REALER_* variables. */
export function spawnWorker(url: string, env: Record<string, string> = {}): WorkerProcess {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN, "worker", "--nats", url], {
    env: { ...process.env, REALER_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { proc, exited, output: () => out };
}

/** Counts per key, and the ids seen more than once. */
export function tally(records: ChannelRecord[]): { perChannel: Map<string, number>; duplicates: string[] } {
  const perChannel = new Map<string, number>();
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const r of records) {
    perChannel.set(r.channel, (perChannel.get(r.channel) ?? 0) + 1);
    const id = `${r.eventId}:${r.channel}`;
    if (seen.has(id)) duplicates.push(id);
    seen.add(id);
  }
  return { perChannel, duplicates };
}

export interface InProcessWorker {
  worker: Worker;
  settled: Settled[];
  stop(): Promise<void>;
}

/** A worker in this process on the fixture's broker, with the given stage lists (default: the standard ones). */
export async function startInProcessWorker(
  fx: { broker: Broker; cfg: RealerConfig },
  opts: { spec?: PipelineSpec; broker?: Broker } = {},
): Promise<InProcessWorker> {
  const broker = opts.broker ?? fx.broker;
  const domain = loadDomain();
  const settled: Settled[] = [];
  const worker = new Worker({
    broker,
    stream: fx.cfg.streams.events.name,
    eventPrefix: fx.cfg.subjects.events,
    partitions: fx.cfg.subjects.eventPartitions,
    deadLetterPrefix: fx.cfg.subjects.deadLetters,
    config: fx.cfg.worker,
    pipeline: compilePipeline({
      broker,
      registry: domain.registry,
      handlers: domain.handlers,
      channelPrefix: fx.cfg.subjects.channels,
      ...(opts.spec ? { spec: opts.spec } : {}),
    }),
    log: createLogger({ level: fx.cfg.logLevel }),
    onSettled: (s) => settled.push(s),
  });
  await worker.start();
  return { worker, settled, stop: () => worker.stop() };
}
