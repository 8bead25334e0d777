/**
 * Publishes at a steady rate, round-robin over the channels, each message
 * numbered per channel and stamped with its publish time (see marker.ts).
 * The schedule is kept against the clock, not by sleeping per message; when
 * the target cannot take the rate (too many publishes in flight), the
 * schedule slips and the report says so.
 */
import { nowUs } from "./marker.js";

/** Publishes message `n` of channel `channel` stamped `tUs`; resolves true when the target accepted it. */
export type PublishOne = (channel: number, n: number, tUs: number) => Promise<boolean>;

export interface PublishReport {
  sent: number;
  failed: number;
  /** Messages per second actually sent over the window (until the last one was sent). */
  achievedRate: number;
}

const TICK_MS = 5;
const MAX_IN_FLIGHT = 1024;

export class Publisher {
  /** Next message number of each channel (the count published so far). */
  readonly next: number[];
  readonly #publish: PublishOne;
  #rr = 0;

  constructor(channels: number, publish: PublishOne) {
    this.next = new Array<number>(channels).fill(0);
    this.#publish = publish;
  }

  /** Publishes `rate` messages/s for `durationMs`; resolves once every publish has settled. */
  async run(rate: number, durationMs: number): Promise<PublishReport> {
    const start = performance.now();
    const total = Math.round((rate * durationMs) / 1000);
    let sent = 0;
    let failed = 0;
    let inFlight = 0;
    const pending = new Set<Promise<void>>();
    await new Promise<void>((done) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
        while (sent < due && inFlight < MAX_IN_FLIGHT) {
          const ch = this.#rr++ % this.next.length;
          const n = this.next[ch]!++;
          sent++;
          inFlight++;
          const p = this.#publish(ch, n, nowUs())
            .then(
              (ok) => {
                if (!ok) failed++;
              },
              () => {
                failed++;
              },
            )
            .finally(() => {
              inFlight--;
              pending.delete(p);
            });
          pending.add(p);
        }
        if (sent >= total) done();
        else setTimeout(tick, TICK_MS);
      };
      tick();
    });
    // The rate counts until the last message left, not until its answer came back.
    const elapsedS = (performance.now() - start) / 1000;
    await Promise.all(pending);
    return { sent, failed, achievedRate: sent / Math.max(elapsedS, durationMs / 1000) };
  }
}
