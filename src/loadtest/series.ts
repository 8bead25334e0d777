/**
 * A load test's time series: one entry per second of the run, joining what
 * the subscribers saw (fleet.ts), what the publisher sent, and the
 * server's CPU and memory. Also how long a run took to recover after a
 * fault, read from the series.
 */
import type { FleetSecond } from "./fleet.js";
import { Histogram } from "./histogram.js";
import { emptyCounts, type SecondCounts } from "./protocol.js";
import type { ServerReading } from "./server-stats.js";

export interface BenchSecond extends SecondCounts {
  /** Seconds since the run started. */
  t: number;
  /** When this second started, wall-clock ms since the epoch. */
  atMs: number;
  /** Publishes sent in this second, and of those, how many failed (after their retries). */
  published: number;
  publishFailed: number;
  /** Publish round trips (first try to final answer) of this second's publishes, ms. */
  publishP50Ms: number | null;
  publishP99Ms: number | null;
  /** Latency of this second's deliveries (publish to arrival), ms; null when nothing arrived. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Subscribers' streams open at the end of the second. */
  open: number;
  /** CPU (cores) and resident memory (MB) of each server source. */
  servers: Record<string, ServerReading>;
}

export const ms = (us: number): number | null => (Number.isNaN(us) ? null : Math.round(us / 10) / 100);

interface PublishBucket {
  published: number;
  failed: number;
  took: Histogram;
}

export class SeriesBuilder {
  readonly #originUs: number;
  readonly #fleet = new Map<number, FleetSecond>();
  readonly #publish = new Map<number, PublishBucket>();
  readonly #servers = new Map<number, Record<string, ServerReading>>();

  constructor(originUs: number) {
    this.#originUs = originUs;
  }

  secondOf(atUs: number): number {
    return Math.max(0, Math.floor((atUs - this.#originUs) / 1e6));
  }

  published(ok: boolean, sentUs: number, tookUs: number): void {
    const s = this.secondOf(sentUs);
    let b = this.#publish.get(s);
    if (!b) {
      b = { published: 0, failed: 0, took: new Histogram() };
      this.#publish.set(s, b);
    }
    b.published++;
    if (!ok) b.failed++;
    b.took.record(tookUs);
  }

  server(atUs: number, readings: Record<string, ServerReading>): void {
    this.#servers.set(this.secondOf(atUs), readings);
  }

  /** Adds the subscribers' second and returns that second as known now. */
  fleet(f: FleetSecond): BenchSecond {
    this.#fleet.set(f.s, f);
    return this.at(f.s);
  }

  at(s: number): BenchSecond {
    const f = this.#fleet.get(s);
    const p = this.#publish.get(s);
    const {
      latency,
      s: _s,
      ...counts
    } = f ?? {
      ...emptyCounts(),
      deliveries: 0,
      s,
      open: 0,
      latency: new Histogram(),
    };
    return {
      t: s,
      atMs: Math.round(this.#originUs / 1000) + s * 1000,
      published: p?.published ?? 0,
      publishFailed: p?.failed ?? 0,
      publishP50Ms: p ? ms(p.took.quantile(0.5)) : null,
      publishP99Ms: p ? ms(p.took.quantile(0.99)) : null,
      ...counts,
      p50Ms: ms(latency.quantile(0.5)),
      p90Ms: ms(latency.quantile(0.9)),
      p99Ms: ms(latency.quantile(0.99)),
      maxMs: latency.count ? ms(latency.max) : null,
      servers: this.#servers.get(s) ?? {},
    };
  }

  /** Every second from 0 to the last one anything happened in. */
  all(): BenchSecond[] {
    const last = Math.max(-1, ...this.#fleet.keys(), ...this.#publish.keys());
    return Array.from({ length: last + 1 }, (_, s) => this.at(s));
  }
}

export interface RecoveryOptions {
  /** A second is healthy when its p99 latency is at most this, ms. Default 1,000. */
  maxP99Ms?: number;
  /** ...and at least this many streams are open (default: the most open in any second before the fault). */
  open?: number;
  /** Recovered once this many healthy seconds follow each other. Default 3. */
  stableSeconds?: number;
  /**
   * The load ran until then (wall-clock ms): before it, a second with no
   * delivery is not healthy even when nothing was sent in it (the publishes
   * of a stalled server are in flight, not sent). Default: such a second is.
   */
  loadedUntilMs?: number;
}

/**
 * How long after `faultAtMs` (wall-clock ms) the run was healthy again, ms:
 * from the fault to the start of the first run of `stableSeconds` healthy
 * seconds (0 when the seconds after the fault never stopped being healthy).
 * Undefined when it did not recover within the series.
 */
export function recoveryTime(
  series: readonly BenchSecond[],
  faultAtMs: number,
  opts: RecoveryOptions = {},
): number | undefined {
  const maxP99 = opts.maxP99Ms ?? 1_000;
  const stable = opts.stableSeconds ?? 3;
  const before = series.filter((s) => s.atMs + 1000 <= faultAtMs);
  const open = opts.open ?? Math.max(0, ...before.map((s) => s.open));
  const loaded = opts.loadedUntilMs ?? Number.NEGATIVE_INFINITY;
  // Healthy: every stream back, deliveries flowing while publishing goes on, and latency within bounds.
  const healthy = (s: BenchSecond) =>
    s.open >= open &&
    (s.deliveries > 0 || (s.published === 0 && s.atMs + 1000 > loaded)) &&
    (s.p99Ms === null || s.p99Ms <= maxP99);
  const after = series.filter((s) => s.atMs + 1000 > faultAtMs);
  for (let i = 0; i + stable <= after.length; i++) {
    if (after.slice(i, i + stable).every(healthy)) return Math.max(0, after[i]!.atMs - faultAtMs);
  }
  return undefined;
}
