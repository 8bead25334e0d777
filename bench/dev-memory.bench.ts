/**
 * `realer dev`'s memory, as a user runs it (`node dist/cli/main.js dev`):
 *
 * 1. Flat: N events of 1 KB (default 200,000) through the HTTP ingest, in
 *    batches, paced so the worker keeps up; the RSS of the process sampled
 *    as they pass. Baseline, same run: the same with the production stream
 *    limits (7 days of events kept, no byte limit), as `realer dev` ran
 *    before it had embedded limits.
 * 2. A slow reader: an SSE client that sends its request and never reads,
 *    while S events of 1 KB (default 10,000) go to its channel; the growth of
 *    the RSS of the process(es) serving it, against the growth over the same
 *    number of events with nobody subscribed just before (the baseline). On
 *    the embedded broker (after phase 1, so its streams are at their limits)
 *    and on JetStream (`realer dev --nats`, a nats-server started here).
 *
 *   node --import tsx bench/dev-memory.bench.ts [--events 200000] [--slow-events 10000]
 *     [--baseline-events N] [--no-baseline] [--brokers embedded,jetstream]
 *
 * Everything runs on loopback and stops by itself.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { sample } from "../src/loadtest/proc-stats.js";
import { type NatsServer, startNatsServer } from "../test/helpers/nats-server.js";
import { freePort, poster, waitForPort } from "./edge/system.js";

const ROOT = new URL("../", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "200000" },
    "slow-events": { type: "string", default: "10000" },
    "baseline-events": { type: "string" },
    "no-baseline": { type: "boolean", default: false },
    brokers: { type: "string", default: "embedded,jetstream" },
  },
});
const EVENTS = Number(args.events);
const SLOW_EVENTS = Number(args["slow-events"]);
const BASELINE_EVENTS = Number(args["baseline-events"] ?? EVENTS);
const BATCH = 200;
/** Most events published and not yet settled by the worker. */
const MAX_BACKLOG = 4000;
const TEXT = "x".repeat(1000);
const MB = 1024 * 1024;
const INGEST_KEY = "dev-memory-bench";

const PRODUCTION_LIMITS = {
  REALER_EVENTS_MAX_AGE_MS: "604800000",
  REALER_EVENTS_MAX_BYTES: "0",
  REALER_CHANNELS_MAX_AGE_MS: "86400000",
  REALER_CHANNELS_MAX_BYTES: "0",
  REALER_DLQ_MAX_BYTES: "0",
};

function cli(): string[] {
  const dist = `${ROOT}dist/cli/main.js`;
  if (existsSync(dist) && process.env.REALER_BENCH_SOURCE !== "1") return [dist];
  console.log(
    "(no dist/: running the sources through tsx, which adds its own memory; `npm run build` first)",
  );
  return ["--import", "tsx", `${ROOT}src/cli/main.ts`];
}

interface Dev {
  proc: ChildProcess;
  port: number;
  rss(): number;
  stop(): Promise<void>;
}

const running = new Set<{ kill(): unknown }>();
process.once("exit", () => {
  for (const p of running) p.kill();
});
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => process.exit(130));

async function startDev(env: Record<string, string>, nats?: string): Promise<Dev> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [...cli(), "dev", "--port", String(port), ...(nats ? ["--nats", nats] : [])],
    {
      // With --nats the ingest wants a key (only the embedded broker takes events without one).
      env: { ...process.env, REALER_LOG_LEVEL: "warn", REALER_INGEST_KEYS: INGEST_KEY, ...env },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  running.add(proc);
  await waitForPort(port);
  return {
    proc,
    port,
    rss: () => sample(proc.pid!).rssBytes,
    async stop() {
      running.delete(proc);
      if (proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await gone;
    },
  };
}

async function settled(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  let n = 0;
  for (const m of text.matchAll(/^realer_events_settled_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

async function counter(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, "gm"))) n += Number(m[1]);
  return n;
}

/**
 * Publishes `count` events of 1 KB to `threads` threads through POST
 * /v1/events/batch, keeping at most MAX_BACKLOG unsettled; calls `onProgress`
 * after each batch. Resolves once every event is settled.
 */
async function publish(
  dev: Dev,
  count: number,
  threads: (i: number) => string,
  onProgress: (sent: number) => void = () => {},
): Promise<void> {
  const post = poster(dev.port, { authorization: `Bearer ${INGEST_KEY}` });
  const base = await settled(dev.port);
  let sent = 0;
  while (sent < count) {
    while (sent - ((await settled(dev.port)) - base) > MAX_BACKLOG)
      await new Promise((r) => setTimeout(r, 20));
    const batches: Promise<boolean>[] = [];
    for (let b = 0; b < 4 && sent < count; b++) {
      const n = Math.min(BATCH, count - sent);
      const events = Array.from({ length: n }, (_, j) => {
        const thread = threads(sent + j);
        return {
          type: "comments.v1.CommentCreated",
          key: `thread:${thread}`,
          data: { comment: { id: `c${sent + j}`, threadId: thread, author: "bench", text: TEXT } },
        };
      });
      sent += n;
      batches.push(post("/v1/events/batch", JSON.stringify({ events }), "application/json"));
    }
    if ((await Promise.all(batches)).some((ok) => !ok)) throw new Error("the ingest refused a batch");
    onProgress(sent);
  }
  const deadline = Date.now() + 120_000;
  while ((await settled(dev.port)) - base < count) {
    if (Date.now() > deadline) throw new Error("the worker did not settle every event within 120 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mb = (b: number) => (b / MB).toFixed(0);
const signedMb = (b: number) => `${b >= 0 ? "+" : ""}${mb(b)}`;

interface FlatResult {
  start: number;
  peak: number;
  end: number;
  /** RSS growth per event over the second half, bytes. */
  perEventLate: number;
  checkpoints: string[];
}

async function flat(env: Record<string, string>, count: number, keep?: (d: Dev) => Promise<void>) {
  const dev = await startDev(env);
  try {
    const start = dev.rss();
    let peak = start;
    let half = 0;
    const checkpoints: string[] = [];
    let next = count / 10;
    await publish(
      dev,
      count,
      (i) => String(i % 1000),
      (sent) => {
        const rss = dev.rss();
        peak = Math.max(peak, rss);
        if (sent >= count / 2 && half === 0) half = rss;
        if (sent >= next) {
          checkpoints.push(`${sent / 1000}k: ${mb(rss)}`);
          next += count / 10;
        }
      },
    );
    const end = dev.rss();
    peak = Math.max(peak, end);
    const r: FlatResult = { start, peak, end, perEventLate: (end - half) / (count / 2), checkpoints };
    if (keep) await keep(dev);
    return r;
  } finally {
    await dev.stop();
  }
}

interface SlowResult {
  withoutReader: number;
  withReader: number;
  readerClosed: boolean;
  queuedAtServer: string;
}

/** Opens an SSE request on `channel` and never reads what comes back. */
function slowReader(port: number, channel: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.write(
        `GET /v1/sse?channel=${channel} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
      );
      s.pause();
      resolve(s);
    });
    s.once("error", reject);
  });
}

async function slowPhase(dev: Dev, events: number): Promise<SlowResult> {
  // Warm up on the reader's channel, with no one subscribed, then measure the same again.
  await publish(dev, events, () => "slow");
  const before = dev.rss();
  await publish(dev, events, () => "slow");
  const withoutReader = dev.rss() - before;
  const reader = await slowReader(dev.port, "thread:slow");
  try {
    const dropsBefore = await counter(dev.port, "realer_edge_drops_total");
    const start = dev.rss();
    let peak = start;
    await publish(
      dev,
      events,
      () => "slow",
      () => {
        peak = Math.max(peak, dev.rss());
      },
    );
    const withReader = Math.max(peak, dev.rss()) - start;
    const drops = (await counter(dev.port, "realer_edge_drops_total")) - dropsBefore;
    const open = await counter(dev.port, "realer_edge_connections");
    return {
      withoutReader,
      withReader,
      readerClosed: open === 0,
      queuedAtServer: `${drops} connection(s) dropped by the edge, ${open} open`,
    };
  } finally {
    reader.destroy();
  }
}

function printSlow(label: string, r: SlowResult): void {
  console.log(
    `slow reader, ${label}: RSS ${signedMb(r.withReader)} MB over ${SLOW_EVENTS} events of 1 KB` +
      ` (peak during the window) vs ${signedMb(r.withoutReader)} MB with nobody subscribed;` +
      ` ${r.queuedAtServer}; reader ${r.readerClosed ? "closed as too slow" : "STILL OPEN"}` +
      `; ${r.withReader <= 50 * MB ? "within" : "OVER"} the 50 MB bound`,
  );
}

const brokers = new Set(args.brokers.split(","));
console.log(`realer dev memory: ${EVENTS} events of 1 KB, slow reader over ${SLOW_EVENTS}`);

if (brokers.has("embedded")) {
  let slow: SlowResult | undefined;
  const bounded = await flat({}, EVENTS, async (dev) => {
    slow = await slowPhase(dev, SLOW_EVENTS);
  });
  console.log(
    `embedded, dev limits: RSS ${mb(bounded.start)} MB at start, ${mb(bounded.end)} MB after ${EVENTS} events,` +
      ` peak ${mb(bounded.peak)} MB; ${(bounded.perEventLate / 1024).toFixed(2)} KB per event over the second half` +
      ` [${bounded.checkpoints.join(", ")}]`,
  );
  if (!args["no-baseline"]) {
    const base = await flat(PRODUCTION_LIMITS, BASELINE_EVENTS);
    console.log(
      `embedded, production limits (baseline): RSS ${mb(base.start)} MB at start, ${mb(base.end)} MB after` +
        ` ${BASELINE_EVENTS} events, peak ${mb(base.peak)} MB; ${(base.perEventLate / 1024).toFixed(2)} KB per event` +
        ` over the second half [${base.checkpoints.join(", ")}]`,
    );
    if (BASELINE_EVENTS === EVENTS)
      console.log(`peak RSS, dev limits / production limits: ${(bounded.peak / base.peak).toFixed(2)}x`);
  }
  printSlow("embedded", slow!);
}

if (brokers.has("jetstream")) {
  let server: NatsServer | undefined;
  try {
    server = await startNatsServer();
    running.add({ kill: () => void server?.stop() });
    const dev = await startDev({}, server.url);
    try {
      // Streams on file in nats-server; warm the process up as phase 1 did.
      await publish(dev, Math.min(EVENTS, 40_000), (i) => String(i % 1000));
      printSlow("JetStream (realer dev --nats)", await slowPhase(dev, SLOW_EVENTS));
    } finally {
      await dev.stop();
    }
  } finally {
    await server?.stop();
  }
}
process.exit(0);
