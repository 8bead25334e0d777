/**
 * The fault run: a fleet on loopback (fleet.ts) under `realer bench`'s
 * steady load (SSE subscribers through HAProxy, comments published through
 * the HTTP ingest, each channel's one after another) while, in turn, the
 * channel stream's leader (kill -9 of its nats-server), a worker (kill -9)
 * and an edge (kill -9) die and come back, and then both edges restart one
 * after the other (SIGTERM: each drains its clients to the other). What must
 * hold: every subscriber gets every message of its channel once, in order,
 * with no reset; the ledger (`realer audit`'s) balances over a last stretch
 * of traffic; the occupancy counts are right again after the unclean edge
 * death. The run measures each fault's recovery time and the latency around it.
 */
import { mkdtempSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../src/config/config.js";
import { decodeChannelMessage } from "../../src/events/envelope.js";
import { type BenchResult, runBench } from "../../src/loadtest/bench.js";
import { scanMarkers } from "../../src/loadtest/marker.js";
import { type BenchSecond, recoveryTime } from "../../src/loadtest/series.js";
import { type AuditReport, audit, takeSnapshot } from "../../src/ops/audit.js";
import { urlMetrics } from "../../src/ops/metrics-source.js";
import { workerConsumerState } from "../../src/ops/worker-consumers.js";
import { waitFor } from "../helpers/wait.js";
import { CHANNEL_STREAM, Fleet, INGEST_KEY } from "./fleet.js";

export type FaultName = "leader" | "worker" | "edge" | "rolling";
export const ALL_FAULTS: readonly FaultName[] = ["leader", "worker", "edge", "rolling"];

export interface FaultRunOptions {
  clients: number;
  channels: number;
  /** Events per second over all channels. */
  rate: number;
  /** How long the load runs, ms (longer when the faults' repairs take longer than planned). */
  durationMs: number;
  faults?: readonly FaultName[];
  /** When each fault happens, s since the load started (and not before the previous one is repaired). Default: spread over the run. */
  at?: readonly number[];
  /** How long a killed process stays down, ms; negative: for good. Default 5,000. */
  downMs?: number;
  /** A second is healthy when its p99 latency is at most this, ms (recovery: three healthy seconds in a row). Default 1,000. */
  healthyP99Ms?: number;
  /** Logs and report.json go here. Default: a new temporary directory. */
  dir?: string;
  /** Extra environment for every realer process. */
  env?: Record<string, string>;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface WindowLatency {
  /** Seconds in the window with deliveries. */
  seconds: number;
  /** The median of the seconds' p50, the worst second's p99, the slowest delivery; ms. */
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface FaultRecord {
  fault: FaultName;
  /** Seconds since the load started. */
  at: number;
  what: string;
  /** Seconds until three healthy seconds in a row (every stream open, p99 within bounds); null: never. */
  recovery: number | null;
  before: WindowLatency;
  during: WindowLatency;
  after: WindowLatency;
}

export interface FaultRunReport {
  options: Omit<FaultRunOptions, "log">;
  dir: string;
  /** How long the load ran, s. */
  loadSeconds: number;
  healthyP99Ms: number;
  faults: FaultRecord[];
  bench: Pick<BenchResult, "publish" | "totals" | "latency" | "connect">;
  /**
   * The channel stream itself, read back after the run: messages stored after a
   * later-numbered one of their channel (the workers reordered them), and
   * messages stored twice. What subscribers got out of order beyond this, the
   * edges reordered.
   */
  stream: { messages: number; outOfOrder: number; duplicates: number };
  /** Seconds from the unclean edge death until the counts were right for good; null: never (or no edge fault). */
  occupancyConverged: number | null;
  audit: AuditReport | undefined;
  series: BenchSecond[];
  /** What did not hold; empty when the run passed. */
  failures: string[];
}

const OCCUPANCY_SAMPLE = 10;
/**
 * How long after an edge's unclean death the counts may stay wrong, s: every edge drops
 * a peer silent for 3 announcement intervals at its next interval tick, so at most 4
 * intervals (REALER's default 5 s) after the dead edge's last announcement.
 */
export const OCCUPANCY_BOUND_S = (4 * defaultConfig().edge.occupancyIntervalMs) / 1000;

/** Fault times (ms since the load started): the first after a steady stretch, the rest spread over the run. */
export function schedule(durationMs: number, faults: readonly FaultName[]): number[] {
  const first = Math.min(8_000, durationMs * 0.15);
  const last = durationMs * 0.65;
  const step = faults.length > 1 ? (last - first) / (faults.length - 1) : 0;
  return faults.map((_, i) => Math.round(first + i * step));
}

export async function faultRun(o: FaultRunOptions): Promise<FaultRunReport> {
  const log = o.log ?? (() => {});
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "realer-faults-"));
  const faults = o.faults ?? ALL_FAULTS;
  const downMs = o.downMs ?? 5_000;
  const healthyP99Ms = o.healthyP99Ms ?? 1_000;
  log(`fleet starting (logs in ${dir})`);
  const fleet = await Fleet.start({ workers: 2, dir, ...(o.env ? { env: o.env } : {}) });
  try {
    const channelOf = (i: number) => `thread:bench-${i}`;
    let open = 0;
    let publishing!: () => void;
    const started = new Promise<void>((r) => {
      publishing = r;
    });
    const stopLoad = new AbortController();
    const bench = runBench(
      {
        url: fleet.proxy.url,
        subscribers: o.clients,
        channels: o.channels,
        rate: o.rate,
        // Until stopped: the load goes on while repairs take longer than planned.
        durationMs: o.durationMs + 600_000,
        graceMs: 60_000,
        publishUrl: `${fleet.url(fleet.ingest)}/v1/events`,
        apiKey: INGEST_KEY,
        // A leader election takes seconds: a publish keeps trying for about 25 s.
        publishRetries: 8,
      },
      {
        onPhase: (p) => {
          if (p === "publishing") publishing();
        },
        onSecond: (s) => {
          open = s.open;
        },
        signal: stopLoad.signal,
      },
    );
    await Promise.race([started, bench]);
    const loadStart = Date.now();
    log(`${o.clients} subscribers connected through HAProxy; publishing ${o.rate}/s`);
    const times = o.at ? o.at.map((s) => s * 1000) : schedule(o.durationMs, faults);
    const done: { fault: FaultName; atMs: number; what: string }[] = [];
    let occupancyConverged: number | null = null;
    const since = () => ((Date.now() - loadStart) / 1000).toFixed(1);
    // Each fault's repair (and for the edge, the counts settling) is done before the next fault.
    let restored: Promise<unknown> = Promise.resolve();
    for (const [k, fault] of faults.entries()) {
      await restored;
      const wait = loadStart + times[k]! - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const atMs = Date.now();
      const f = await inject(fleet, fault, downMs);
      log(`${since()} s: ${f.what}`);
      done.push({ fault, atMs, what: f.what });
      const repaired = f.restored.then(() => log(`${since()} s: ${fault} repaired`));
      restored =
        fault === "edge"
          ? Promise.all([
              repaired,
              occupancyAfter(fleet, () => open === o.clients, o.channels, channelOf, o.clients).then((s) => {
                occupancyConverged = s;
                log(`occupancy right ${s === null ? "never" : `${s.toFixed(1)} s`} after the edge died`);
              }),
            ])
          : repaired;
    }
    await restored;
    const endAt = Math.max(loadStart + o.durationMs, Date.now() + 5_000);
    await new Promise((r) => setTimeout(r, endAt - Date.now()));
    stopLoad.abort();
    const loadMs = Date.now() - loadStart;
    log(`${since()} s: publishing stops; waiting for what is still on its way`);
    const result = await bench;

    const stream = await streamOrder(fleet, o.channels, channelOf);
    const auditReport = await auditTail(fleet, o).catch((err: unknown) => {
      log(`audit failed: ${String(err)}`);
      return undefined;
    });
    const report = summarize(
      o,
      dir,
      result,
      loadStart,
      loadMs,
      done,
      occupancyConverged,
      auditReport,
      healthyP99Ms,
    );
    report.stream = stream;
    await writeFile(join(dir, "report.json"), JSON.stringify({ ...report, subscribers: result.subscribers }));
    return report;
  } finally {
    await fleet.stop();
  }
}

/** Does one fault; `restored` resolves once what it broke runs again. */
async function inject(
  fleet: Fleet,
  fault: FaultName,
  downMs: number,
): Promise<{ what: string; restored: Promise<void> }> {
  const after = (fn: () => Promise<void>) =>
    downMs < 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, downMs)).then(fn);
  const back = downMs < 0 ? "not restarted" : `back after ${downMs / 1000} s`;
  if (fault === "leader") {
    const { node, name } = await fleet.leaderOf(CHANNEL_STREAM);
    await node.kill();
    return {
      what: `kill -9 nats-server ${name} (leader of ${CHANNEL_STREAM}), ${back}`,
      restored: after(() => node.restart()),
    };
  }
  if (fault === "worker" || fault === "edge") {
    const m = fault === "worker" ? fleet.workers[0]! : fleet.edges[0]!;
    await fleet.kill(m);
    return {
      what: `kill -9 ${m.name}, ${back}`,
      restored: after(async () => {
        await fleet.restart(m);
        if (fault === "edge") await fleet.waitUntilProxied();
      }),
    };
  }
  const rolling = async () => {
    for (const e of fleet.edges) {
      await fleet.restartGracefully(e);
      await fleet.waitUntilProxied();
    }
  };
  return {
    what: `rolling restart (SIGTERM, drain) of ${fleet.edges.map((e) => e.name).join(", ")}`,
    restored: rolling(),
  };
}

/**
 * Seconds from now (an edge just died) until the counts are right for good:
 * every subscriber connected again and every running edge counting, for a
 * sample of channels, exactly the channel's subscribers, two seconds in a
 * row. Right after the death they may look right by chance (the dead edge's
 * clients still counted and not back yet); then they count some clients
 * twice until the dead edge is forgotten. Null when not within a minute.
 */
async function occupancyAfter(
  fleet: Fleet,
  allOpen: () => boolean,
  channels: number,
  channelOf: (i: number) => string,
  clients: number,
): Promise<number | null> {
  const start = Date.now();
  const sample = Array.from({ length: Math.min(OCCUPANCY_SAMPLE, channels) }, (_, i) => i);
  // Subscriber k watches channel k mod channels.
  const truth = (i: number) => Math.floor(clients / channels) + (i < clients % channels ? 1 : 0);
  const right = async () => {
    if (!allOpen()) return false;
    for (const e of fleet.edges) {
      if (!fleet.alive(e)) continue;
      for (const i of sample) {
        const r = await fetch(`${fleet.url(e)}/v1/channels/${encodeURIComponent(channelOf(i))}`);
        const { subscribers } = (await r.json()) as { subscribers: number };
        if (subscribers !== truth(i)) return false;
      }
    }
    return true;
  };
  let rightSince = 0;
  try {
    await waitFor(
      async () => {
        // An edge starting again does not answer yet: not right yet.
        const ok = await right().catch(() => false);
        if (!ok) rightSince = 0;
        else if (!rightSince) rightSince = Date.now();
        return ok && Date.now() - rightSince >= 2_000;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "occupancy counts to converge" },
    );
    return (rightSince - start) / 1000;
  } catch {
    return null;
  }
}

/** Reads every channel's messages back from the channel stream and counts those out of order or twice. */
async function streamOrder(
  fleet: Fleet,
  channels: number,
  channelOf: (i: number) => string,
): Promise<FaultRunReport["stream"]> {
  const cfg = defaultConfig();
  const out = { messages: 0, outOfOrder: 0, duplicates: 0 };
  const found: number[] = [];
  for (let i = 0; i < channels; i++) {
    const seen = new Set<number>();
    let top = -1;
    const subject = `${cfg.subjects.channels}.${channelOf(i)}`;
    for await (const m of fleet.broker.read(CHANNEL_STREAM, { fromSeq: 1, subject })) {
      const data = Buffer.from(decodeChannelMessage(m.data).data);
      found.length = 0;
      if (scanMarkers(data, 0, data.length, found) === 0) continue;
      const n = found[1]!;
      out.messages++;
      if (seen.has(n)) out.duplicates++;
      else if (n < top) out.outOfOrder++;
      seen.add(n);
      top = Math.max(top, n);
    }
  }
  return out;
}

/** Resolves once the workers hold no event and every running edge's position is the channel stream's end. */
async function quiet(fleet: Fleet): Promise<void> {
  const cfg = defaultConfig();
  await waitFor(
    async () => {
      const c = await workerConsumerState(fleet.broker, cfg);
      if (!c || c.pending > 0 || c.ackPending > 0) return false;
      const { lastSeq } = await fleet.broker.streamState(CHANNEL_STREAM);
      for (const e of fleet.edges) {
        if (!fleet.alive(e)) continue;
        const h = (await (await fetch(`${fleet.url(e)}/healthz`)).json()) as { position: number };
        if (h.position !== lastSeq) return false;
      }
      return true;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: "a quiet fleet (no event held, every edge at the stream's end)",
    },
  );
}

/**
 * `realer audit`'s ledger over a last stretch of traffic on the fleet that
 * went through the faults: between two quiet moments, 3 s more of load.
 * (Over the whole run it cannot balance: a killed process takes its counters with it.)
 */
async function auditTail(fleet: Fleet, o: FaultRunOptions): Promise<AuditReport> {
  const cfg = defaultConfig();
  const sources = fleet.metricsUrls().map((u) => urlMetrics(u));
  await quiet(fleet);
  const a = await takeSnapshot(fleet.broker, cfg, sources);
  const tail = await runBench({
    url: fleet.proxy.url,
    subscribers: Math.min(o.clients, 200),
    channels: o.channels,
    rate: o.rate,
    durationMs: 3_000,
    graceMs: 20_000,
    publishUrl: `${fleet.url(fleet.ingest)}/v1/events`,
    apiKey: INGEST_KEY,
  });
  if (tail.totals.lost > 0) throw new Error(`the audit's own load lost ${tail.totals.lost} messages`);
  await quiet(fleet);
  return audit(a, await takeSnapshot(fleet.broker, cfg, sources));
}

function windowOf(series: readonly BenchSecond[], fromMs: number, toMs: number): WindowLatency {
  const in_ = series.filter((s) => s.atMs >= fromMs && s.atMs < toMs && s.p99Ms !== null);
  if (in_.length === 0) return { seconds: 0, p50: null, p99: null, max: null };
  const p50s = in_.map((s) => s.p50Ms!).sort((x, y) => x - y);
  return {
    seconds: in_.length,
    p50: p50s[Math.floor(p50s.length / 2)]!,
    p99: Math.max(...in_.map((s) => s.p99Ms!)),
    max: Math.max(...in_.map((s) => s.maxMs ?? 0)),
  };
}

function summarize(
  o: FaultRunOptions,
  dir: string,
  r: BenchResult,
  loadStart: number,
  loadMs: number,
  done: { fault: FaultName; atMs: number; what: string }[],
  occupancyConverged: number | null,
  auditReport: AuditReport | undefined,
  healthyP99Ms: number,
): FaultRunReport {
  const faults: FaultRecord[] = done.map((d, k) => {
    const next = done[k + 1]?.atMs ?? loadStart + loadMs;
    const series = r.series.filter((s) => s.atMs < next);
    const ms = recoveryTime(series, d.atMs, {
      maxP99Ms: healthyP99Ms,
      open: o.clients,
      loadedUntilMs: loadStart + loadMs,
    });
    const until = d.atMs + Math.max(1_000, ms ?? next - d.atMs);
    return {
      fault: d.fault,
      at: (d.atMs - loadStart) / 1000,
      what: d.what,
      recovery: ms === undefined ? null : ms / 1000,
      before: windowOf(r.series, d.atMs - 3_000, d.atMs),
      during: windowOf(r.series, d.atMs, until),
      after: windowOf(r.series, until, until + 3_000),
    };
  });
  const t = r.totals;
  const failures: string[] = [];
  if (t.lost > 0) failures.push(`${t.lost} messages lost (${t.subscribersWithLoss} subscribers)`);
  if (t.duplicates > 0) failures.push(`${t.duplicates} duplicate deliveries`);
  if (t.outOfOrder > 0) failures.push(`${t.outOfOrder} deliveries out of order`);
  if (t.resets > 0) failures.push(`${t.resets} resets`);
  if (r.publish.failed > 0) failures.push(`${r.publish.failed} publishes failed after their retries`);
  if (!auditReport) failures.push("no audit");
  else if (auditReport.imbalances.length > 0)
    failures.push(`audit: ${auditReport.imbalances.map((i) => i.message).join("; ")}`);
  if (
    done.some((d) => d.fault === "edge") &&
    (occupancyConverged === null || occupancyConverged > OCCUPANCY_BOUND_S)
  )
    failures.push(`occupancy counts were not right within ${OCCUPANCY_BOUND_S} s of the edge's death`);
  if (faults.some((f) => f.recovery === null)) failures.push("a fault did not recover before the next");
  const { log: _log, ...options } = o;
  return {
    options,
    dir,
    loadSeconds: Math.round(loadMs / 100) / 10,
    healthyP99Ms,
    faults,
    bench: { publish: r.publish, totals: r.totals, latency: r.latency, connect: r.connect },
    stream: { messages: 0, outOfOrder: 0, duplicates: 0 },
    occupancyConverged,
    audit: auditReport,
    series: r.series,
    failures,
  };
}
