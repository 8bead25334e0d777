import { map, mergeMap, type OperatorFunction } from "rxjs";
import { dispositionOf } from "../errors.js";
import type { Job } from "./types.js";

function fail(job: Job, stage: string, err: unknown): Job {
  const error = err instanceof Error ? err : new Error(String(err));
  return { ...job, failure: { stage, error, disposition: dispositionOf(error) } };
}

/**
 * A synchronous stage: `fn` maps a healthy job to its next form. Failed jobs
 * pass by untouched; a throw fails only this job, never the stream.
 */
export function syncStage(name: string, fn: (job: Job) => Job): OperatorFunction<Job, Job> {
  return map((job) => {
    if (job.failure) return job;
    try {
      return fn(job);
    } catch (err) {
      return fail(job, name, err);
    }
  });
}

/** An asynchronous stage with at most `concurrency` jobs in it at once. */
export function asyncStage(
  name: string,
  fn: (job: Job) => Promise<Job>,
  concurrency: number,
): OperatorFunction<Job, Job> {
  return mergeMap(async (job) => {
    if (job.failure) return job;
    try {
      return await fn(job);
    } catch (err) {
      return fail(job, name, err);
    }
  }, concurrency);
}
