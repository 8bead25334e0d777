/**
 * How long after an event's first channel messages are stored a worker may
 * store them again, and the check that the channel stream still suppresses
 * them as duplicates by then.
 *
 * A worker publishes an event's outputs, with dedupe ids, during each
 * delivery it gets, before acking. Delivery k+1 starts at the latest an ack
 * wait after delivery k started (its claim ran out: a worker died or hung)
 * plus the nak delay of attempt k (a failure after publishing); delivery
 * `maxDeliver` + 1 is dead-lettered without publishing. So outputs are stored
 * at the latest `maxDeliver` ack waits plus the retry delays of the first
 * `maxDeliver` - 1 attempts after the first ones. Past the channel stream's
 * duplicate window the stream would store them again: start-up refuses such
 * a configuration (REALER_ERR_DUPLICATE_WINDOW_SHORT).
 *
 * It assumes a delivery's stages publish within the ack wait (an enrich
 * stage's heartbeat may keep a claim for up to its timeout), and it cannot
 * cover a delivery that waits because no worker runs at all: a worker
 * outage longer than the window may repeat the outputs of the events that
 * were in flight when it began.
 */
import type { StreamSpec } from "../broker/types.js";
import type { WorkerConfig } from "../config/config.js";
import { DEFAULT_DUPLICATE_WINDOW_MS } from "../config/stream-limits.js";
import { DuplicateWindowShort } from "../errors.js";
import { retryDelay } from "../pipeline/settle.js";

type Redelivery = Pick<WorkerConfig, "ackWaitMs" | "maxDeliver" | "retryDelayMs" | "maxRetryDelayMs">;

/** The longest time between the first and the last store of an event's outputs, ms (Infinity: no delivery limit). */
export function redeliverySpanMs(w: Redelivery): number {
  if (w.maxDeliver <= 0) return Number.POSITIVE_INFINITY;
  let span = w.maxDeliver * w.ackWaitMs;
  for (let attempt = 1; attempt < w.maxDeliver; attempt++)
    span += retryDelay(attempt, w.retryDelayMs, w.maxRetryDelayMs);
  return span;
}

/** Throws REALER_ERR_DUPLICATE_WINDOW_SHORT when `channels` forgets dedupe ids before the span ends. */
export function checkDuplicateWindow(w: Redelivery, channels: StreamSpec): void {
  const window = channels.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
  const span = redeliverySpanMs(w);
  if (span > window) throw new DuplicateWindowShort(window, span);
}
