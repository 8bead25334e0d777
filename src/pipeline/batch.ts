import { EnrichTimeout } from "../errors.js";
import type { Decoded } from "./job.js";
import { asyncStage } from "./stage.js";

export interface BatchOptions {
  /** A batch is sent when it holds this many jobs. Default 100. */
  maxSize?: number;
  /** ...or when its oldest job has waited this long, ms. Default 10. */
  maxWaitMs?: number;
  /** A batch call that takes longer fails every job in it with REALER_ERR_ENRICH_TIMEOUT (retried), ms. Default 5000. */
  timeoutMs?: number;
}

/** Handles many jobs in one call (one query, one request); resolves with the jobs in the same order. */
export type BatchFn = (jobs: readonly Decoded[]) => Promise<readonly Decoded[]>;

/**
 * Gathers jobs that are in the pipeline at the same time into batches for one
 * call each, then lets every job go on with its own result. Jobs of different
 * keys share batches; jobs of one key never do (the worker runs one job per
 * key at a time). If the call fails, every job of the batch fails with what
 * it threw.
 */
export function batch(name: string, fn: BatchFn, opts: BatchOptions = {}) {
  const maxSize = Math.max(1, opts.maxSize ?? 100);
  const maxWaitMs = opts.maxWaitMs ?? 10;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let open:
    | { jobs: Decoded[]; waiters: { resolve: (j: Decoded) => void; reject: (e: unknown) => void }[] }
    | undefined;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    const b = open;
    open = undefined;
    if (!b) return;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new EnrichTimeout(name, timeoutMs)), timeoutMs);
    });
    Promise.race([fn(b.jobs), timeout])
      .then((out) => {
        if (out.length !== b.jobs.length)
          throw new Error(`batch ${name} returned ${out.length} jobs for ${b.jobs.length}`);
        for (const [i, job] of out.entries()) b.waiters[i]?.resolve(job);
      })
      .catch((err: unknown) => {
        for (const w of b.waiters) w.reject(err);
      })
      .finally(() => clearTimeout(t));
  };

  return asyncStage(
    name,
    [EnrichTimeout],
    (job) =>
      new Promise<Decoded>((resolve, reject) => {
        if (!open) {
          open = { jobs: [], waiters: [] };
          timer = setTimeout(flush, maxWaitMs);
        }
        open.jobs.push(job);
        open.waiters.push({ resolve, reject });
        if (open.jobs.length >= maxSize) flush();
      }),
  );
}
