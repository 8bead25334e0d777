/**
 * `runBench`: a load test of any SSE server, realer's by default. N
 * subscribers over C channels in several processes, a publisher on a
 * profile (steady, ramp, or burst: one channel, the rate stepped up until a
 * step does not keep up), then a grace period for what is still on its way.
 * The result counts per subscriber what was lost, duplicated and out of
 * order, with reconnects, resets and errors, and a time series per second.
 * `realer bench` is this function plus printing; other programs (the fault
 * runs) call it directly.
 */
import { randomBytes } from "node:crypto";
import { BenchNoSubscribers, BenchPublishRefused } from "../errors.js";
import { Fleet, type FleetReport, takeSourceAddresses } from "./fleet.js";
import { HttpPublisher } from "./http-publish.js";
import { nowUs } from "./marker.js";
import { type BenchOptions, type CompiledBench, compileBenchOptions } from "./options.js";
import type { SubscriberRow, Totals } from "./protocol.js";
import { Publisher, rampSchedule, steadySchedule } from "./publisher.js";
import { type BenchSecond, ms, SeriesBuilder } from "./series.js";
import { ServerStats } from "./server-stats.js";

export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface BurstStep {
  rate: number;
  sent: number;
  /** Messages/s the publisher achieved. */
  sentRate: number;
  deliveries: number;
  deliveriesPerS: number;
  /** Deliveries of the step's messages still missing when its grace ended (5 s at most); the totals say if they came later. */
  missing: number;
  duplicates: number;
  latency: LatencySummary;
  keptUp: boolean;
}

export interface BenchResult {
  version: 1;
  runId: string;
  startedAt: string;
  endedAt: string;
  /** Publishing stopped early (the signal aborted). */
  interrupted: boolean;
  options: CompiledBench["o"] & { apiKey?: "(set)" };
  /** The first subscriber's stream URL, to show what was loaded. */
  sseUrl: string;
  /** 127.0.0.x source addresses used (0: the system picked). */
  sourceAddresses: number;
  connect: { openAtStart: number; notOpenAtStart: number; errors: string[] };
  publish: { sent: number; accepted: number; failed: number; retries: number; sentRate: number };
  /** Summed over subscribers. `expected`: messages of their channels whose publish succeeded. */
  totals: Totals & { subscribers: number; expected: number; subscribersWithLoss: number };
  latency: LatencySummary;
  steps?: BurstStep[];
  series: BenchSecond[];
  /** One row per subscriber, in id order. */
  subscribers: SubscriberRow[];
  /** The load test's own subscriber processes (their CPU is not the server's). */
  loadPids: number[];
}

export interface BenchHooks {
  /** Each second of the run as soon as every subscriber process has sent it (publish figures may still grow). */
  onSecond?: (s: BenchSecond) => void;
  /** What the run is doing: "connecting", "publishing", "step 400/s", "waiting for late messages". */
  onPhase?: (phase: string) => void;
  /** Aborting stops publishing; the run then waits out its grace period and reports. */
  signal?: AbortSignal;
}

export const latencyOf = (h: FleetReport["latency"]): LatencySummary => ({
  count: h.count,
  p50Ms: ms(h.quantile(0.5)),
  p90Ms: ms(h.quantile(0.9)),
  p99Ms: ms(h.quantile(0.99)),
  maxMs: h.count ? ms(h.max) : null,
});

/** Polls until nothing of [from, to) is missing any more, or `graceMs` passes. */
async function settle(
  fleet: Fleet,
  from: number[],
  to: number[],
  excused: number[][],
  graceMs: number,
): Promise<FleetReport> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const r = await fleet.report(from, to, excused);
    if (r.totals.lost === 0 || Date.now() >= deadline) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

export async function runBench(
  options: Partial<BenchOptions> = {},
  hooks: BenchHooks = {},
): Promise<BenchResult> {
  const c = await compileBenchOptions(options);
  const o = c.o;
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const startedAt = new Date();
  const originUs = nowUs();
  const series = new SeriesBuilder(originUs);
  hooks.onPhase?.("connecting");
  const fleet = await Fleet.start({
    target: c.target,
    subscribers: c.subscribers,
    processes: o.processes,
    localAddresses: takeSourceAddresses(c.sourceAddresses),
    originUs,
    retryMs: o.retryMs,
    maxBackoffMs: o.maxBackoffMs,
    connectTimeoutMs: o.connectTimeoutMs,
    readyWithinMs: o.readyWithinMs,
    deadlineMs: deadlineOf(o),
    onSecond: (f) => {
      const s = series.fleet(f);
      hooks.onSecond?.(s);
    },
  });
  const http = new HttpPublisher({
    url: c.publishUrl,
    body: c.body,
    method: o.publishMethod,
    headers: c.publishHeaders,
    channels: c.channelNames,
    runId,
    retries: o.publishRetries,
    retryDelayMs: o.publishRetryDelayMs,
    timeoutMs: o.publishTimeoutMs,
  });
  const stats = new ServerStats(o.servers);
  let statsTimer: NodeJS.Timeout | undefined;
  let statsOn = true;
  // Read in the middle of each second, so each reading lands in the second it describes the end of.
  const readStats = async () => {
    const at = nowUs();
    series.server(at, await stats.read());
    if (statsOn)
      statsTimer = setTimeout(() => void readStats(), 1500 - (((nowUs() - originUs) / 1000) % 1000));
  };
  try {
    if (fleet.connected === 0)
      throw new BenchNoSubscribers(c.sseExample, fleet.errors.join("; ") || "no answer");
    if (o.servers.length) await readStats();
    const refused = new AbortController();
    const stop = hooks.signal ? AbortSignal.any([hooks.signal, refused.signal]) : refused.signal;
    const publisher = new Publisher(o.channels, http.publish, {
      perChannelInFlight: o.publishConcurrency,
      observe: (ok, sentUs, tookUs) => {
        series.published(ok, sentUs, tookUs);
        if (!ok && http.refusal && http.accepted === 0) refused.abort();
      },
    });
    const zeros = new Array<number>(o.channels).fill(0);
    let sent = 0;
    let sentS = 0;
    let steps: BurstStep[] | undefined;
    hooks.onPhase?.("publishing");
    if (o.profile === "burst") {
      steps = [];
      for (const rate of o.rates) {
        if (stop.aborted) break;
        hooks.onPhase?.(`step ${rate}/s`);
        const from = [...publisher.next];
        fleet.measure(from);
        const p = await publisher.run(rate, o.stepMs, stop);
        sent += p.sent;
        sentS += p.sent / Math.max(p.achievedRate, 1e-9);
        const r = await settle(
          fleet,
          from,
          [...publisher.next],
          publisher.failed,
          Math.min(o.graceMs, 5_000),
        );
        const step: BurstStep = {
          rate,
          sent: p.sent,
          sentRate: Math.round(p.achievedRate * 10) / 10,
          deliveries: r.window.deliveries,
          deliveriesPerS: Math.round(
            r.window.deliveries / Math.max(o.stepMs / 1000, p.sent / Math.max(p.achievedRate, 1e-9)),
          ),
          missing: r.totals.lost,
          duplicates: r.window.duplicates,
          latency: latencyOf(r.window.latency),
          keptUp: false,
        };
        step.keptUp =
          step.missing === 0 &&
          p.failed === 0 &&
          p.achievedRate >= 0.95 * rate &&
          (step.latency.p99Ms ?? 0) <= o.maxP99Ms;
        steps.push(step);
        if (!step.keptUp) break;
      }
    } else {
      const schedule =
        o.profile === "ramp"
          ? rampSchedule(o.rate, o.toRate, o.durationMs)
          : steadySchedule(o.rate, o.durationMs);
      const p = await publisher.runSchedule(schedule, stop);
      sent = p.sent;
      sentS = p.sent / Math.max(p.achievedRate, 1e-9);
    }
    if (http.refusal && http.accepted === 0)
      throw new BenchPublishRefused(http.refusal.status, http.refusal.body);
    hooks.onPhase?.("waiting for late messages");
    const to = [...publisher.next];
    await settle(fleet, zeros, to, publisher.failed, o.graceMs);
    const final = await fleet.report(zeros, to, publisher.failed, true);
    statsOn = false;
    clearTimeout(statsTimer);
    const failed = publisher.failed.reduce((s, f) => s + f.length, 0);
    const expected = final.rows.reduce((s, r) => s + to[r.channel]! - publisher.failed[r.channel]!.length, 0);
    const { apiKey, ...shown } = o;
    return {
      version: 1,
      runId,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      interrupted: hooks.signal?.aborted === true,
      options: { ...shown, ...(apiKey ? { apiKey: "(set)" as const } : {}) },
      sseUrl: c.sseExample,
      sourceAddresses: c.sourceAddresses,
      connect: { openAtStart: fleet.connected, notOpenAtStart: fleet.failed, errors: fleet.errors },
      publish: {
        sent,
        accepted: http.accepted,
        failed,
        retries: http.retries,
        sentRate: Math.round((sent / Math.max(sentS, 1e-9)) * 10) / 10,
      },
      totals: {
        ...final.totals,
        subscribers: o.subscribers,
        expected,
        subscribersWithLoss: final.rows.filter((r) => r.lost > 0).length,
      },
      latency: latencyOf(final.latency),
      ...(steps ? { steps } : {}),
      series: series.all(),
      subscribers: final.rows,
      loadPids: fleet.pids,
    };
  } finally {
    statsOn = false;
    clearTimeout(statsTimer);
    http.close();
    await fleet.close();
  }
}

/** Subscriber processes exit on their own after this long: the whole run plus a margin. */
function deadlineOf(o: CompiledBench["o"]): number {
  const publishing = o.profile === "burst" ? o.rates.length * (o.stepMs + 5_000) : o.durationMs;
  return o.readyWithinMs + publishing + o.graceMs + 120_000;
}
