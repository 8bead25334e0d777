import { type Decoded, skip } from "./job.js";
import { syncStage } from "./stage.js";

/**
 * Keeps the jobs `predicate` accepts; the others are skipped: acked with no
 * output and counted as dropped with `reason`. Filtering is a decision, not a
 * failure, so nothing is dead-lettered.
 */
export function filter(name: string, predicate: (job: Decoded) => boolean, reason: string) {
  return syncStage(name, [], (job) => (predicate(job) ? job : skip(job, name, reason)));
}
