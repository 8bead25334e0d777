import { skip } from "./job.js";
import { syncStage } from "./stage.js";

export interface DedupeOptions {
  /** Event ids remembered, newest first; the oldest are forgotten past this. Default 100000. */
  capacity?: number;
}

/**
 * Skips an event whose id this worker already saw at another stream sequence:
 * the same event published twice outside the stream's duplicate window (a
 * producer retrying late, or two producers). A redelivery of the same stored
 * message (same sequence) passes, so a retried event is never lost here.
 *
 * Best effort and per process: memory stays bounded by `capacity`. Exactly-once
 * channel messages do not depend on it; the publish stage's dedupe ids do that.
 */
export function dedupe(opts: DedupeOptions = {}) {
  const capacity = Math.max(1, opts.capacity ?? 100_000);
  const seen = new Map<string, number>();
  return syncStage("dedupe", [], (job) => {
    const id = job.event.id;
    const seq = job.delivery.seq;
    const first = seen.get(id);
    if (first !== undefined && first !== seq)
      return skip(job, "dedupe", `duplicate of event ${id} at sequence ${first}`);
    if (first === undefined) {
      seen.set(id, seq);
      if (seen.size > capacity) {
        const oldest = seen.keys().next();
        if (!oldest.done) seen.delete(oldest.value);
      }
    }
    return job;
  });
}
