import { EnrichTimeout } from "../errors.js";
import type { Decoded } from "./job.js";
import { asyncStage } from "./stage.js";

export interface EnrichOptions {
  /** The lookup fails with REALER_ERR_ENRICH_TIMEOUT (retried) after this long, ms. Default 5000. */
  timeoutMs?: number;
  /**
   * How often the job's claim is renewed (`delivery.working()`) while the lookup
   * runs, ms. Keep it well under the consumer's ack wait. Default 1000.
   */
  heartbeatMs?: number;
}

/** Looks something up for a job; the signal aborts when the stage gives up on it. */
export type Lookup = (job: Decoded, signal: AbortSignal) => Promise<Record<string, unknown>>;

/**
 * Async I/O for a job (a user's profile, a count from a database): what
 * `lookup` resolves with is merged into `job.context`, which format reads.
 * While the lookup runs the job keeps its claim: the stage signals
 * in-progress every `heartbeatMs`, so a lookup longer than the ack wait is
 * not delivered to another worker. A timeout is retried with backoff; what
 * the lookup throws fails the job with its own disposition (unknown errors
 * are retried).
 */
export function enrich(name: string, lookup: Lookup, opts: EnrichOptions = {}) {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const heartbeatMs = opts.heartbeatMs ?? 1_000;
  return asyncStage(name, [EnrichTimeout], async (job) => {
    const abort = new AbortController();
    const beat = setInterval(() => job.delivery.working(), heartbeatMs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Reject before aborting: a lookup that settles on abort must not win the race.
        reject(new EnrichTimeout(name, timeoutMs));
        abort.abort();
      }, timeoutMs);
    });
    try {
      const found = await Promise.race([lookup(job, abort.signal), timeout]);
      return { ...job, context: { ...job.context, ...found } };
    } finally {
      clearInterval(beat);
      clearTimeout(timer);
    }
  });
}
