/**
 * The scenarios of the edge benchmark, each run the same way against every
 * system: (a)/(b) a steady rate over many channels, (c) one busy channel
 * with the rate raised until deliveries stop keeping up, (d) idle memory
 * per connection. Every run is bounded in time.
 */
import type { Fleet, FleetReport } from "../../src/loadtest/fleet.js";
import { sampleAll } from "../../src/loadtest/proc-stats.js";
import { Publisher } from "../../src/loadtest/publisher.js";
import { openSubscribers, type SystemUnderTest } from "./system.js";

export interface TrafficResult {
  system: string;
  subs: number;
  connected: number;
  channels: number;
  /** Messages/s asked of the publisher, and sent. */
  rate: number;
  sentRate: number;
  publishFailed: number;
  offeredDeliveriesPerS: number;
  deliveriesPerS: number;
  deliveries: number;
  lost: number;
  duplicates: number;
  dropped: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Server CPU time per delivery, microseconds: all server processes, and the SSE-holding ones alone. */
  cpuUsPerDelivery: number;
  edgeCpuUsPerDelivery: number;
  /** The load generator's own CPU time per delivery (its client processes), microseconds. */
  generatorCpuUsPerDelivery: number;
  /** Server CPU use over the window, in cores. */
  serverCores: number;
  /** Per server role ("edge", "worker", "nats-server"): CPU microseconds per delivery and the kernel's share of it. */
  cpuByRole: Record<string, { usPerDelivery: number; sysShare: number }>;
  edgeRssMB: number;
  keptUp: boolean;
}

export interface IdleResult {
  system: string;
  connections: number;
  connected: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  bytesPerConnection: number;
}

/** How long after publishing ends a window waits for late deliveries. */
const GRACE_MS = 3_000;
/** At the end of a run, how long every message of the run gets to arrive before it counts as lost. */
const FINAL_GRACE_MS = 20_000;
/** A window whose p99 latency passes this did not keep up: a queue was building. */
export const KEPT_UP_P99_MS = 1_000;

/** Opens `connections` SSE connections, connection i on channel i % channels. */
function connectLoad(
  sys: SystemUnderTest,
  o: { connections: number; channels: number; clientProcesses: number; concurrency?: number },
): Promise<Fleet> {
  const channelOf = Array.from({ length: o.connections }, (_, i) => i % o.channels);
  return openSubscribers({
    host: sys.host,
    port: sys.port,
    paths: channelOf.map((c) => sys.subscribePath(c)),
    channelOf,
    processes: o.clientProcesses,
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
  });
}

/** Waits until nothing of [from, to) is missing any more, or the grace period ends (polling the clients' tallies). */
async function drain(lg: Fleet, from: number[], to: number[], graceMs = GRACE_MS): Promise<FleetReport> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const t = await lg.report(from, to);
    if (t.totals.lost === 0 || Date.now() > deadline) return t;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One measured window at one rate on connections already open. */
async function window(
  sys: SystemUnderTest,
  lg: Fleet,
  pub: Publisher,
  o: { subs: number; channels: number; rate: number; durationMs: number },
): Promise<TrafficResult> {
  const from = [...pub.next];
  lg.measure(from);
  const pids = sys.pids();
  // One read of /proc per process at each end; totals and the edge's share are sums of the roles'.
  const sampleRoles = () => Object.entries(pids).map(([role, ps]) => [role, sampleAll(ps)] as const);
  const roles0 = sampleRoles();
  const gen0 = sampleAll(lg.pids);
  const t0 = performance.now();
  const p = await pub.run(o.rate, o.durationMs);
  const to = [...pub.next];
  const r = await drain(lg, from, to);
  const t = { ...r.window, lost: r.totals.lost, closes: r.totals.closes };
  const elapsedS = (performance.now() - t0) / 1000;
  const roles1 = sampleRoles();
  const gen1 = sampleAll(lg.pids);
  const offered = (p.sent * (lg.connected / o.channels)) / (o.durationMs / 1000);
  // A target that could not take the rate stretched the window: count the time publishing really took.
  const sendS = p.achievedRate > 0 ? p.sent / p.achievedRate : 0;
  const deliveriesPerS = t.deliveries / Math.max(o.durationMs / 1000, sendS);
  const ms = (us: number) => Math.round(us / 10) / 100;
  const perDelivery = (cpuS: number) =>
    t.deliveries ? Math.round((cpuS * 1e7) / t.deliveries) / 10 : Number.NaN;
  const cpuByRole: TrafficResult["cpuByRole"] = {};
  let serverCpuS = 0;
  let edgeCpuS = 0;
  roles0.forEach(([role, s0], i) => {
    const s1 = roles1[i]![1];
    const cpuS = s1.cpuS - s0.cpuS;
    serverCpuS += cpuS;
    if (role === "edge") edgeCpuS = cpuS;
    cpuByRole[role] = {
      usPerDelivery: perDelivery(cpuS),
      sysShare: cpuS > 0 ? Math.round(((s1.sysS - s0.sysS) / cpuS) * 100) / 100 : 0,
    };
  });
  const edgeRssBytes = roles1.find(([role]) => role === "edge")![1].rssBytes;
  return {
    system: sys.name,
    subs: o.subs,
    connected: lg.connected,
    channels: o.channels,
    rate: o.rate,
    sentRate: Math.round(p.achievedRate * 10) / 10,
    publishFailed: p.failed,
    offeredDeliveriesPerS: Math.round(offered),
    deliveriesPerS: Math.round(deliveriesPerS),
    deliveries: t.deliveries,
    lost: t.lost,
    duplicates: t.duplicates,
    dropped: t.closes,
    p50Ms: ms(t.latency.quantile(0.5)),
    p90Ms: ms(t.latency.quantile(0.9)),
    p99Ms: ms(t.latency.quantile(0.99)),
    maxMs: ms(t.latency.max),
    cpuUsPerDelivery: perDelivery(serverCpuS),
    edgeCpuUsPerDelivery: perDelivery(edgeCpuS),
    generatorCpuUsPerDelivery: perDelivery(gen1.cpuS - gen0.cpuS),
    serverCores: Math.round((serverCpuS / elapsedS) * 100) / 100,
    cpuByRole,
    edgeRssMB: Math.round(edgeRssBytes / 1e5) / 10,
    // Kept up: everything arrived within the grace period, nothing doubled, publishing held its
    // rate, and latency stayed bounded (a system that falls behind builds a queue and p99 grows).
    keptUp:
      t.lost === 0 &&
      t.duplicates === 0 &&
      p.failed === 0 &&
      t.closes === 0 &&
      p.achievedRate >= 0.95 * o.rate &&
      t.latency.quantile(0.99) <= KEPT_UP_P99_MS * 1000,
  };
}

/** Every message of a run on every connection, counted after a long final grace period. */
export interface RunTotals {
  deliveries: number;
  lost: number;
  duplicates: number;
  dropped: number;
}

export interface TrafficOptions {
  subs: number;
  channels: number;
  clientProcesses: number;
  warmupMs: number;
}

async function withLoad<T>(
  sys: SystemUnderTest,
  o: TrafficOptions,
  body: (lg: Fleet, pub: Publisher) => Promise<T>,
): Promise<T & { total: RunTotals }> {
  const lg = await connectLoad(sys, { ...o, connections: o.subs });
  try {
    if (lg.connected < o.subs) {
      throw new Error(
        `${sys.name}: only ${lg.connected} of ${o.subs} connections opened (${lg.errors.join("; ")})`,
      );
    }
    const pub = new Publisher(o.channels, (ch, n, t) => sys.publish(ch, n, t));
    const result = await body(lg, pub);
    const t = (await drain(lg, new Array<number>(o.channels).fill(0), [...pub.next], FINAL_GRACE_MS)).totals;
    return {
      ...result,
      total: { deliveries: t.delivered, lost: t.lost, duplicates: t.duplicates, dropped: t.closes },
    };
  } finally {
    await lg.close();
  }
}

/** (a), (b): a steady rate over several channels, after a warm-up. */
export function steady(
  sys: SystemUnderTest,
  o: TrafficOptions & { rate: number; durationMs: number },
): Promise<{ window: TrafficResult; total: RunTotals }> {
  return withLoad(sys, o, async (lg, pub) => {
    await pub.run(o.rate, o.warmupMs);
    return { window: await window(sys, lg, pub, o) };
  });
}

/** (c): one channel, the rate raised step by step until a step does not keep up. */
export function rising(
  sys: SystemUnderTest,
  o: TrafficOptions & { rates: number[]; stepMs: number },
): Promise<{ steps: TrafficResult[]; best: TrafficResult | undefined; total: RunTotals }> {
  return withLoad(sys, o, async (lg, pub) => {
    await pub.run(o.rates[0]!, o.warmupMs);
    const steps: TrafficResult[] = [];
    for (const rate of o.rates) {
      const r = await window(sys, lg, pub, { ...o, rate, durationMs: o.stepMs });
      steps.push(r);
      if (!r.keptUp) break;
    }
    const kept = steps.filter((s) => s.keptUp);
    const best = kept.sort((a, b) => b.deliveriesPerS - a.deliveriesPerS)[0];
    return { steps, best };
  });
}

/** Resident memory of the connection-holding processes until it stops moving (at most `maxMs`). */
export async function settledRss(pids: () => number[], maxMs = 15_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = sampleAll(pids()).rssBytes;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1_000));
    const now = sampleAll(pids()).rssBytes;
    if (Math.abs(now - last) < 0.005 * last || Date.now() > deadline) return now;
    last = now;
  }
}

/** (d): memory per idle connection: the server's RSS with N open connections minus its RSS with none. */
export async function idle(
  sys: SystemUnderTest,
  o: { connections: number; channels: number; clientProcesses: number },
): Promise<IdleResult> {
  const edgePids = () => sys.pids().edge;
  const before = await settledRss(edgePids, 5_000);
  const lg = await connectLoad(sys, { ...o, concurrency: 64 });
  try {
    const after = await settledRss(edgePids);
    const mb = (b: number) => Math.round(b / 1e5) / 10;
    return {
      system: sys.name,
      connections: o.connections,
      connected: lg.connected,
      rssBeforeMB: mb(before),
      rssAfterMB: mb(after),
      bytesPerConnection: lg.connected ? Math.round((after - before) / lg.connected) : Number.NaN,
    };
  } finally {
    await lg.close();
  }
}
