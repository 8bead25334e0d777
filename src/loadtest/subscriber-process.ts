/**
 * One subscriber process of a load test: holds many subscribers
 * (subscriber.ts), adds up what they see per second of the run, and answers
 * the coordinator (fleet.ts) over IPC (protocol.ts). Exits when the
 * coordinator goes away or after its deadline (argv[2], ms), whichever
 * comes first, so a crashed run leaves nothing behind.
 */
import { Histogram } from "./histogram.js";
import { nowUs } from "./marker.js";
import {
  type Command,
  emptyCounts,
  type Message,
  type Report,
  type ReportCommand,
  type SecondCounts,
  type StartCommand,
  type Totals,
} from "./protocol.js";
import { Subscriber, type SubscriberEvents } from "./subscriber.js";

const DEADLINE_MS = Number(process.argv[2] ?? 900_000);
setTimeout(() => process.exit(3), DEADLINE_MS).unref();
process.on("disconnect", () => process.exit(0));

const send = (m: Message) => process.send!(m);

interface Bucket extends SecondCounts {
  latency: Histogram;
}

const subscribers: Subscriber[] = [];
const runLatency = new Histogram();
const window = { from: [] as number[], deliveries: 0, duplicates: 0, latency: new Histogram() };
const buckets = new Map<number, Bucket>();
let originUs = 0;
let open = 0;

function bucketAt(atUs: number): Bucket {
  // An arrival stamped just before its second was sent counts in the next one.
  const s = Math.max(unsent, Math.floor((atUs - originUs) / 1e6));
  let b = buckets.get(s);
  if (!b) {
    b = { ...emptyCounts(), deliveries: 0, latency: new Histogram() };
    buckets.set(s, b);
  }
  return b;
}

const emptyHistogram = new Histogram();

/** The next second to send: every second is sent once, in order, empty ones too. */
let unsent = 0;

/** Sends every second that has ended (and the current one too when `all`: the run is over). */
function flush(all: boolean): void {
  const current = Math.floor((nowUs() - originUs) / 1e6);
  const upTo = all ? current + 1 : current;
  for (; unsent < upTo; unsent++) {
    const b = buckets.get(unsent);
    buckets.delete(unsent);
    const { latency, ...counts } = b ?? { ...emptyCounts(), deliveries: 0, latency: undefined };
    send({ type: "second", s: unsent, open, ...counts, latency: (latency ?? emptyHistogram).toJSON() });
  }
}

function tick(): void {
  flush(false);
  // The next tick just after the next second starts, so that second's arrivals are all in.
  const intoSecond = (nowUs() - originUs) % 1e6;
  setTimeout(tick, (1e6 - intoSecond) / 1000 + 20).unref();
}

function eventsFor(channel: number): SubscriberEvents {
  return {
    arrival(n, tUs, atUs, kind) {
      const b = bucketAt(atUs);
      const inWindow = n >= (window.from[channel] ?? Number.POSITIVE_INFINITY);
      if (kind === "duplicate") {
        b.duplicates++;
        if (inWindow) window.duplicates++;
        return;
      }
      b.deliveries++;
      if (kind === "late") b.outOfOrder++;
      const us = atUs - tUs;
      b.latency.record(us);
      runLatency.record(us);
      if (inWindow) {
        window.deliveries++;
        window.latency.record(us);
      }
    },
    stray: () => bucketAt(nowUs()).strays++,
    control(type) {
      const b = bucketAt(nowUs());
      if (type === "reset") b.resets++;
      else if (type === "error") b.errors++;
      else b.drains++;
    },
    opened(reconnect) {
      open++;
      const b = bucketAt(nowUs());
      b.connects++;
      if (reconnect) b.reconnects++;
    },
    failed: () => bucketAt(nowUs()).failures++,
    closed() {
      open--;
      bucketAt(nowUs()).closes++;
    },
  };
}

async function start(c: StartCommand): Promise<void> {
  originUs = c.originUs;
  tick();
  const timing = { retryMs: c.retryMs, maxBackoffMs: c.maxBackoffMs, connectTimeoutMs: c.connectTimeoutMs };
  c.subscribers.forEach((spec, i) => {
    const local = c.localAddresses.length ? c.localAddresses[i % c.localAddresses.length] : undefined;
    subscribers.push(new Subscriber(spec, c.target, local, timing, eventsFor(spec.channel)));
  });
  const readyBy = Date.now() + c.readyWithinMs;
  const errors = new Set<string>();
  let next = 0;
  const lane = async () => {
    while (next < subscribers.length && Date.now() < readyBy) {
      const err = await subscribers[next++]!.connect();
      if (err !== undefined && errors.size < 5) errors.add(err);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, c.concurrency) }, lane));
  // Those whose first attempt failed retry on their own; wait for them, within the deadline.
  while (open < subscribers.length && Date.now() < readyBy) await new Promise((r) => setTimeout(r, 50));
  // Subscribers never tried because the deadline passed start now, and keep trying like the rest.
  for (; next < subscribers.length; next++) void subscribers[next]!.connect();
  send({ type: "connected", ok: open, failed: subscribers.length - open, errors: [...errors] });
}

function report(c: ReportCommand): void {
  if (c.detail) flush(true);
  const totals: Totals = { ...emptyCounts(), delivered: 0, lost: 0, open: 0, neverOpened: 0 };
  const rows: NonNullable<Report["rows"]> = [];
  for (const s of subscribers) {
    const ch = s.spec.channel;
    const row = {
      id: s.spec.id,
      channel: ch,
      delivered: s.tally.delivered,
      lost: s.tally.missing(c.from[ch] ?? 0, c.to[ch] ?? 0, c.excused[ch]),
      duplicates: s.tally.duplicates,
      outOfOrder: s.tally.outOfOrder,
      strays: s.strays,
      connects: s.connects,
      reconnects: s.reconnects,
      failures: s.failures,
      closes: s.closes,
      resets: s.resets,
      errors: s.errors,
      drains: s.drains,
      open: s.open,
      firstOpenMs: s.firstOpenMs,
    };
    for (const k of Object.keys(totals) as (keyof Totals)[]) {
      if (k === "open") totals.open += row.open ? 1 : 0;
      else if (k === "neverOpened") totals.neverOpened += row.firstOpenMs ? 0 : 1;
      else totals[k] += row[k];
    }
    if (c.detail) rows.push(row);
  }
  send({
    type: "report",
    totals,
    latency: runLatency.toJSON(),
    window: {
      deliveries: window.deliveries,
      duplicates: window.duplicates,
      latency: window.latency.toJSON(),
    },
    ...(c.detail ? { rows } : {}),
  });
}

process.on("message", (m: Command) => {
  if (m.cmd === "start") void start(m);
  else if (m.cmd === "measure") {
    window.from = m.from;
    window.deliveries = 0;
    window.duplicates = 0;
    window.latency.reset();
  } else if (m.cmd === "report") report(m);
  else if (m.cmd === "close") {
    for (const s of subscribers) s.stop();
    process.exit(0);
  }
});
