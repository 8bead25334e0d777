/**
 * The edge's figures for docs/scaling.md, each from `realer bench` against
 * `realer edge` processes on a real nats-server, and the same command
 * against nchan (the baseline) in the same run where it applies:
 * - idle: connections one edge process holds, memory and CPU per idle connection, CPU per new connection;
 * - fanout: deliveries/s one edge process sustains with p99 under a bound, CPU per delivery;
 * - interest: what a watched channel costs (one NATS subscription per channel per edge);
 * - storm: an edge process killed under load, its clients resuming on the survivors.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { children, sampleAll } from "../../src/loadtest/proc-stats.js";
import { recoveryTime } from "../../src/loadtest/series.js";
import { startNchan } from "../edge/nchan.js";
import {
  bench,
  cpuBetween,
  edge,
  ingest,
  mark,
  nats,
  realerFlags,
  settledRss,
  steadyFlags,
  stopAll,
  track,
  type Watched,
  worker,
} from "./stack.js";

export type System = "realer" | "nchan";

/** nchan gets a body of about the size of realer's frame for the default comment. */
const NCHAN_BODY = `{marker}${"x".repeat(240)}`;

interface Target {
  name: string;
  /** `realer bench` flags that aim it at this system. */
  flags: string[];
  watched: Watched[];
  /** The group holding the connections. */
  holder: Watched;
  /** realer: the edge processes' log lines so far. */
  edgeLogs?: () => string;
  /** realer: JetStream API requests nats-server has answered so far (its /jsz). */
  jsApiRequests?: () => Promise<number>;
}

/** A system up and ready: realer (nats-server, an ingest, a worker, `realer edge --workers N`) or nchan. */
async function start(system: System, workers: number, withWorker: boolean): Promise<Target> {
  if (system === "nchan") {
    const n = await startNchan({ workers, bufferLength: 1000, messageBytes: 0 });
    track("nchan", () => n.stop());
    const holder = { name: "nchan", pids: () => n.pids().edge };
    return {
      name: n.name,
      flags: [
        "--url",
        `http://127.0.0.1:${n.port}`,
        "--sse-url",
        "/sub/{channel}",
        "--publish-url",
        "/pub/{channel}",
        "--body",
        NCHAN_BODY,
        "--content-type",
        "text/plain",
        // nchan's locations take word characters only.
        "--channel-name",
        "c{i}",
      ],
      watched: [holder],
      holder,
    };
  }
  const ns = await nats();
  const key = randomUUID();
  const ing = await ingest(ns.url, key);
  const wk = withWorker ? await worker(ns.url) : undefined;
  const e = await edge(ns.url, workers);
  const holder = { name: "edge", pids: e.pids };
  return {
    name: `realer (edge ${workers} process${workers > 1 ? "es" : ""})`,
    flags: [...realerFlags(e.port, ing.port, key)],
    watched: [
      holder,
      { name: "ingest", pids: ing.pids },
      ...(wk ? [{ name: "worker", pids: wk.pids }] : []),
      { name: "nats-server", pids: () => [ns.pid] },
    ],
    holder,
    edgeLogs: e.logs,
    jsApiRequests: async () => {
      const res = await fetch(`${ns.monitorUrl}/jsz`);
      return ((await res.json()) as { api: { total: number } }).api.total;
    },
  };
}

const mb = (b: number) => Math.round(b / 1e5) / 10;
const us = (s: number, n: number) => (n > 0 ? Math.round((s * 1e6) / n) : Number.NaN);

export interface IdleFigures {
  system: string;
  connections: number;
  open: number;
  connectSeconds: number;
  cpuUsPerConnect: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  bytesPerConnection: number;
  idleCores: number;
  delivered: number;
  lost: number;
}

/** (a) N connections held, their memory and CPU, while 1 message/s goes to 100 channels. */
export async function idle(
  system: System,
  o: { connections: number; workers: number },
): Promise<IdleFigures> {
  try {
    const t = await start(system, o.workers, true);
    const before = await settledRss(t.holder.pids, 5_000);
    const run = await bench(
      [
        ...t.flags,
        ...steadyFlags({ subscribers: o.connections, channels: 100, rate: 1, duration: "30s", grace: "5s" }),
      ],
      t.watched,
    );
    const c = mark(run.marks, "connecting");
    const p = mark(run.marks, "publishing");
    const w = mark(run.marks, "waiting for late messages");
    const open = run.result.connect.openAtStart;
    const after = w.samples[t.holder.name]!.rssBytes;
    return {
      system: t.name,
      connections: o.connections,
      open,
      connectSeconds: Math.round((p.atMs - c.atMs) / 100) / 10,
      cpuUsPerConnect: us(cpuBetween(c, p, t.holder.name), open),
      rssBeforeMB: mb(before),
      rssAfterMB: mb(after),
      bytesPerConnection: Math.round((after - before) / open),
      idleCores: Math.round((cpuBetween(p, w, t.holder.name) / ((w.atMs - p.atMs) / 1000)) * 1000) / 1000,
      delivered: run.result.totals.delivered,
      lost: run.result.totals.lost,
    };
  } finally {
    await stopAll();
  }
}

export interface StepFigures {
  rate: number;
  deliveriesPerS: number;
  p50Ms: number | null;
  p99Ms: number | null;
  missing: number;
  keptUp: boolean;
  /** The connection holder's CPU over the step, cores, and per delivery, us. */
  holderCores: number;
  holderUsPerDelivery: number;
  /** Deliveries/s per core of the holder: deliveries over its CPU seconds. */
  deliveriesPerCore: number;
}

export interface FanoutFigures {
  system: string;
  subscribers: number;
  steps: StepFigures[];
  best: StepFigures | undefined;
  lost: number;
  duplicates: number;
}

/**
 * (b) One hot channel, the rate stepped up until a step falls behind (p99
 * over 2 s or deliveries missing 5 s after it); `best` is the step with the
 * most deliveries/s among those with nothing missing and p99 within `maxP99Ms`.
 */
export async function fanout(
  system: System,
  o: { subscribers: number; rates: number[]; maxP99Ms: number; workers: number },
): Promise<FanoutFigures> {
  try {
    const t = await start(system, o.workers, true);
    const run = await bench(
      [
        ...t.flags,
        "--profile",
        "burst",
        "--subscribers",
        String(o.subscribers),
        "--rates",
        o.rates.join(","),
        "--step",
        "8s",
        "--max-p99",
        "2s",
        "--grace",
        "5s",
      ],
      t.watched,
    );
    const steps: StepFigures[] = [];
    for (const s of run.result.steps ?? []) {
      const i = run.marks.findIndex((m) => m.phase === `step ${s.rate}/s`);
      const a = run.marks[i]!;
      const b = run.marks[i + 1]!;
      const cpu = cpuBetween(a, b, t.holder.name);
      steps.push({
        rate: s.rate,
        deliveriesPerS: s.deliveriesPerS,
        p50Ms: s.latency.p50Ms,
        p99Ms: s.latency.p99Ms,
        missing: s.missing,
        keptUp: s.keptUp && (s.latency.p99Ms ?? 0) <= o.maxP99Ms,
        holderCores: Math.round((cpu / ((b.atMs - a.atMs) / 1000)) * 100) / 100,
        holderUsPerDelivery: Math.round((cpu * 1e7) / Math.max(1, s.deliveries)) / 10,
        deliveriesPerCore: Math.round(s.deliveries / Math.max(cpu, 1e-9)),
      });
    }
    const kept = steps.filter((s) => s.keptUp);
    return {
      system: t.name,
      subscribers: o.subscribers,
      steps,
      best: kept.sort((a, b) => b.deliveriesPerS - a.deliveriesPerS)[0],
      lost: run.result.totals.lost,
      duplicates: run.result.totals.duplicates,
    };
  } finally {
    await stopAll();
  }
}

export interface InterestFigures {
  channels: number;
  subscribers: number;
  connectSeconds: number;
  edgeRssMB: number;
  edgeRssDeltaMB: number;
  natsRssDeltaMB: number;
  edgeCoresAtRate: number;
  natsCoresAtRate: number;
  lost: number;
}

/**
 * What watched channels cost: `subscribers` connections on `channels`
 * channels (one each when equal: one NATS subscription per connection's
 * channel), 10 messages/s; the edge's and nats-server's memory and CPU.
 */
export async function interest(o: { subscribers: number; channels: number }): Promise<InterestFigures> {
  try {
    const t = await start("realer", 1, true);
    const natsW = t.watched.find((w) => w.name === "nats-server")!;
    const edgeBefore = await settledRss(t.holder.pids, 5_000);
    const natsBefore = sampleAll(natsW.pids()).rssBytes;
    const run = await bench(
      [
        ...t.flags,
        ...steadyFlags({
          subscribers: o.subscribers,
          channels: o.channels,
          rate: 10,
          duration: "30s",
          grace: "5s",
        }),
      ],
      t.watched,
    );
    const c = mark(run.marks, "connecting");
    const p = mark(run.marks, "publishing");
    const w = mark(run.marks, "waiting for late messages");
    const secs = (w.atMs - p.atMs) / 1000;
    return {
      channels: o.channels,
      subscribers: o.subscribers,
      connectSeconds: Math.round((p.atMs - c.atMs) / 100) / 10,
      edgeRssMB: mb(w.samples.edge!.rssBytes),
      edgeRssDeltaMB: mb(w.samples.edge!.rssBytes - edgeBefore),
      natsRssDeltaMB: mb(w.samples["nats-server"]!.rssBytes - natsBefore),
      edgeCoresAtRate: Math.round((cpuBetween(p, w, "edge") / secs) * 1000) / 1000,
      natsCoresAtRate: Math.round((cpuBetween(p, w, "nats-server") / secs) * 1000) / 1000,
      lost: run.result.totals.lost,
    };
  } finally {
    await stopAll();
  }
}

export interface StormFigures {
  subscribers: number;
  killedPid: number;
  /** Streams the killed process held (the subscribers that had to resume). */
  reconnects: number;
  recoveryMs: number | undefined;
  p99BeforeMs: number | null;
  worstP99AfterMs: number | null;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  resets: number;
  errors: number;
  edgeCoresPeakAfterKill: number;
  /** JetStream API requests from the kill to the end of the run, and per second in the 10 s before it. */
  jsApiRequestsAfterKill: number;
  jsApiRequestsPerSecondBefore: number;
}

/**
 * An edge of `realer edge --workers 2` killed (SIGKILL) 20 s into a steady
 * run: its clients reconnect with their Last-Event-ID after the stream's
 * `retry:` (2-4 s), to the survivor and to the replacement the primary forks.
 */
export async function storm(o: { subscribers: number; rate: number }): Promise<StormFigures> {
  try {
    const t = await start("realer", 2, true);
    const primary = t.holder.pids()[0]!;
    let killAt = 0;
    let killed = 0;
    let apiAtKill = Promise.resolve(0);
    let apiEarly = Promise.resolve(0);
    let early: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    const run = await bench(
      [
        ...t.flags,
        ...steadyFlags({
          subscribers: o.subscribers,
          channels: 100,
          rate: o.rate,
          duration: "50s",
          grace: "10s",
        }),
        "--server-pid",
        `edge=${primary}`,
      ],
      t.watched,
      (phase) => {
        if (phase !== "publishing") return;
        early = setTimeout(() => {
          apiEarly = t.jsApiRequests!();
        }, 10_000);
        timer = setTimeout(() => {
          killed = children(primary)[0]!;
          killAt = Date.now();
          process.kill(killed, "SIGKILL");
          apiAtKill = t.jsApiRequests!();
        }, 20_000);
      },
    );
    clearTimeout(timer);
    clearTimeout(early);
    const apiBefore = ((await apiAtKill) - (await apiEarly)) / 10;
    const apiAfterKill = (await t.jsApiRequests!()) - (await apiAtKill);
    writeFileSync(`.bench/scaling-storm-edge-${run.result.runId}.log`, t.edgeLogs?.() ?? "");
    const series = run.result.series;
    const before = series.filter((s) => s.atMs + 1000 <= killAt && s.published > 0);
    const after = series.filter((s) => s.atMs + 1000 > killAt);
    const p99s = (xs: typeof series) => xs.map((s) => s.p99Ms).filter((x): x is number => x !== null);
    const sorted = p99s(before).sort((a, b) => a - b);
    return {
      subscribers: o.subscribers,
      killedPid: killed,
      reconnects: run.result.totals.reconnects,
      recoveryMs: recoveryTime(series, killAt, {
        maxP99Ms: 1000,
        loadedUntilMs: mark(run.marks, "waiting for late messages").atMs,
      }),
      p99BeforeMs: sorted.length ? sorted[Math.floor(sorted.length / 2)]! : null,
      worstP99AfterMs: Math.max(...p99s(after)),
      lost: run.result.totals.lost,
      duplicates: run.result.totals.duplicates,
      outOfOrder: run.result.totals.outOfOrder,
      resets: run.result.totals.resets,
      errors: run.result.totals.errors,
      edgeCoresPeakAfterKill: Math.max(...after.map((s) => s.servers.edge?.cpuCores ?? 0)),
      jsApiRequestsAfterKill: apiAfterKill,
      jsApiRequestsPerSecondBefore: Math.round(apiBefore),
    };
  } finally {
    await stopAll();
  }
}
