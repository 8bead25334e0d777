/**
 * Publishing with retries while the broker is unreachable. The delay before
 * attempt n+1 is drawn uniformly from [0, min(maxDelay, initialDelay * 2^n)]
 * ("full jitter"), so producers that lost the same server do not come back in
 * lockstep. Only failures that may pass are retried: an error from our
 * catalogue with another disposition than retry (a bad event) fails at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { dispositionOf, PublishTimeout } from "../errors.js";
import type { RetryOptions } from "./options.js";

/** The backoff cap before attempt `attempt + 1` (attempt counts from 0). */
export function backoffCap(attempt: number, o: RetryOptions): number {
  return Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** Math.min(attempt, 30));
}

export function isRetryable(err: unknown): boolean {
  return dispositionOf(err) === "retry";
}

export interface RetryHooks {
  /** Called before each backoff wait. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
}

/**
 * Runs `attempt` until it resolves, a non-retryable error, or `timeoutMs` has
 * passed (then REALER_ERR_PUBLISH_TIMEOUT naming `what`, with the last error as cause).
 */
export async function withRetry<T>(
  what: string,
  attempt: () => Promise<T>,
  o: RetryOptions,
  hooks: RetryHooks = {},
): Promise<T> {
  const deadline = Date.now() + o.timeoutMs;
  const random = hooks.random ?? Math.random;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      const delay = Math.floor(random() * backoffCap(n, o));
      if (Date.now() + delay >= deadline) {
        const e = new PublishTimeout(what, o.timeoutMs, (err as Error)?.message ?? String(err));
        e.cause = err;
        throw e;
      }
      hooks.onRetry?.(err, n + 1, delay);
      await sleep(delay);
    }
  }
}
