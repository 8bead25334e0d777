/**
 * Publishes on a schedule (a steady rate, or a ramp), round-robin over the
 * channels, each message numbered per channel and stamped with its publish
 * time (see marker.ts). The schedule is kept against the clock, not by
 * sleeping per message; when the target cannot take the rate (too many
 * publishes in flight), the schedule slips and the report says so.
 */
import { nowUs } from "./marker.js";

/**
 * Publishes message `n` of channel `channel` stamped `tUs`; resolves true
 * when the target accepted it. Messages below `w` of the channel had all
 * been answered when it was sent (marker.ts).
 */
export type PublishOne = (channel: number, n: number, tUs: number, w: number) => Promise<boolean>;

export interface PublishReport {
  sent: number;
  failed: number;
  /** Messages per second actually sent over the window (until the last one was sent). */
  achievedRate: number;
}

/** How many messages are due `elapsedMs` into a run, and how many in all. */
export interface Schedule {
  total: number;
  due(elapsedMs: number): number;
  /** How long the schedule lasts, ms. */
  durationMs: number;
}

/** `rate` messages/s for `durationMs`. */
export function steadySchedule(rate: number, durationMs: number): Schedule {
  return {
    total: Math.round((rate * durationMs) / 1000),
    due: (t) => Math.floor((t * rate) / 1000),
    durationMs,
  };
}

/** A rate rising in a straight line from `from` to `to` messages/s over `durationMs`. */
export function rampSchedule(from: number, to: number, durationMs: number): Schedule {
  const d = durationMs / 1000;
  const count = (t: number) => from * t + ((to - from) * t * t) / (2 * d);
  return {
    total: Math.round(count(d)),
    due: (ms) => Math.floor(count(Math.min(ms, durationMs) / 1000)),
    durationMs,
  };
}

/** Told about every publish when it settles. */
export type PublishObserver = (ok: boolean, sentUs: number, tookUs: number) => void;

const TICK_MS = 5;
const MAX_IN_FLIGHT = 1024;

export interface PublisherOptions {
  /** Told about every publish when it settles. */
  observe?: PublishObserver;
  /**
   * Most publishes of one channel in flight at once. 1 sends each only once
   * the one before was answered, so the server's order is the numbering and
   * every reordering a subscriber sees is the server's. Default: no limit.
   */
  perChannelInFlight?: number;
}

export class Publisher {
  /** Next message number of each channel (the count published so far). */
  readonly next: number[];
  /** Per channel, the numbers of the messages whose publish failed. */
  readonly failed: number[][];
  readonly #publish: PublishOne;
  readonly #o: PublisherOptions;
  /** Per channel: publishes in flight, messages answered from 0 without a hole, and answers past that hole. */
  readonly #inFlight: number[];
  readonly #answered: number[];
  readonly #answeredPast: Set<number>[];
  #rr = 0;

  constructor(channels: number, publish: PublishOne, o: PublisherOptions = {}) {
    this.next = new Array<number>(channels).fill(0);
    this.failed = Array.from({ length: channels }, () => []);
    this.#publish = publish;
    this.#o = o;
    this.#inFlight = new Array<number>(channels).fill(0);
    this.#answered = new Array<number>(channels).fill(0);
    this.#answeredPast = Array.from({ length: channels }, () => new Set<number>());
  }

  #settled(ch: number, n: number): void {
    this.#inFlight[ch]!--;
    const past = this.#answeredPast[ch]!;
    past.add(n);
    let a = this.#answered[ch]!;
    while (past.delete(a)) a++;
    this.#answered[ch] = a;
  }

  /** Publishes `rate` messages/s for `durationMs`; resolves once every publish has settled. */
  run(rate: number, durationMs: number, signal?: AbortSignal): Promise<PublishReport> {
    return this.runSchedule(steadySchedule(rate, durationMs), signal);
  }

  /** Publishes on `schedule` (or until `signal` aborts); resolves once every publish has settled. */
  async runSchedule(schedule: Schedule, signal?: AbortSignal): Promise<PublishReport> {
    const start = performance.now();
    let sent = 0;
    let failed = 0;
    let inFlight = 0;
    const pending = new Set<Promise<void>>();
    await new Promise<void>((done) => {
      let finished = false;
      const perChannel = this.#o.perChannelInFlight ?? Number.POSITIVE_INFINITY;
      // Sends what is due; runs on a timer and again whenever a publish is answered (a slot is free).
      const issue = () => {
        if (finished) return;
        const due = Math.min(schedule.total, schedule.due(performance.now() - start));
        while (sent < due && inFlight < MAX_IN_FLIGHT && !signal?.aborted) {
          const ch = this.#rr % this.next.length;
          // The channel's turn waits for its earlier publish: the round-robin order is kept.
          if (this.#inFlight[ch]! >= perChannel) break;
          this.#rr++;
          const n = this.next[ch]!++;
          sent++;
          inFlight++;
          this.#inFlight[ch]!++;
          const t = nowUs();
          const settle = (ok: boolean) => {
            if (!ok) {
              failed++;
              this.failed[ch]!.push(n);
            }
            this.#settled(ch, n);
            this.#o.observe?.(ok, t, nowUs() - t);
          };
          const p = this.#publish(ch, n, t, this.#answered[ch]!)
            .then(settle, () => settle(false))
            .finally(() => {
              inFlight--;
              pending.delete(p);
              issue();
            });
          pending.add(p);
        }
        if (sent >= schedule.total || signal?.aborted) {
          finished = true;
          done();
        }
      };
      const tick = () => {
        issue();
        if (!finished) setTimeout(tick, TICK_MS);
      };
      tick();
    });
    // The rate counts until the last message left, not until its answer came back.
    const elapsedS = (performance.now() - start) / 1000;
    await Promise.all(pending);
    const windowS = signal?.aborted ? elapsedS : Math.max(elapsedS, schedule.durationMs / 1000);
    return { sent, failed, achievedRate: sent / Math.max(windowS, 1e-3) };
  }
}
