/**
 * The stage API. A stage is an RxJS operator over jobs with a name and the
 * failures it declares (see `Stage` in types.ts). Three ways to make one:
 * - `syncStage(name, failures, fn)`: `fn` maps a healthy job to its next form.
 * - `asyncStage(name, failures, fn)`: the same with a promise.
 * - `defineStage(name, failures, operator)`: any RxJS operator over a single
 *   job; it is run once per job, guarded so it cannot lose or duplicate one.
 * All three pass failed and skipped jobs by untouched, turn a throw into a
 * failure of that job only (never an Rx error), and count the ledger.
 */
import {
  catchError,
  defaultIfEmpty,
  map,
  mergeMap,
  type Observable,
  type OperatorFunction,
  of,
  take,
} from "rxjs";
import { dispositionOf, type RealerErrorConstructor, StageLostJob } from "../errors.js";
import { type StageLedger, stageLedger } from "../metrics/ledger.js";
import { mapAsync } from "./map-async.js";
import type { Job, Stage } from "./types.js";

/** True when the job has neither failed nor been skipped. */
export const healthy = (job: Job): boolean => !job.failure && !job.skipped;

/** The job, failed at `stage` with `err` and the disposition its catalogue code gives. */
export function fail(job: Job, stage: string, err: unknown): Job {
  const error = err instanceof Error ? err : new Error(String(err));
  return { ...job, failure: { stage, error, disposition: dispositionOf(error) } };
}

/** The job, skipped at `stage`: it is acked without producing anything. */
export function skip(job: Job, stage: string, reason: string): Job {
  return { ...job, skipped: { stage, reason } };
}

function countOut(ledger: StageLedger, name: string, job: Job): Job {
  const f = job.failure;
  if (!f && !job.skipped) ledger.passed();
  else if (f && f.stage === name) {
    ledger.out(f.disposition === "retry" ? "retried" : f.disposition === "fatal" ? "failed" : "dropped");
  } else if (job.skipped?.stage === name) ledger.out("dropped");
  else ledger.passed();
  return job;
}

function asStage(
  name: string,
  failures: readonly RealerErrorConstructor[],
  op: OperatorFunction<Job, Job>,
  step?: (job: Job) => Job,
): Stage {
  return Object.assign(op, { stageName: name, failures }, step ? { step } : {});
}

export function syncStage(
  name: string,
  failures: readonly RealerErrorConstructor[],
  fn: (job: Job) => Job,
): Stage {
  const ledger = stageLedger(name);
  const step = (job: Job): Job => {
    if (!healthy(job)) return job;
    ledger.in();
    let out: Job;
    try {
      out = fn(job);
    } catch (err) {
      out = fail(job, name, err);
    }
    return countOut(ledger, name, out);
  };
  return asStage(name, failures, map(step), step);
}

/**
 * An asynchronous stage. Jobs of different keys overlap in it; per-key order
 * is kept by the worker, which runs one job per key at a time.
 */
export function asyncStage(
  name: string,
  failures: readonly RealerErrorConstructor[],
  fn: (job: Job) => Promise<Job>,
): Stage {
  const ledger = stageLedger(name);
  return asStage(
    name,
    failures,
    // Plain promise callbacks rather than an async wrapper: one promise
    // fewer per job on the hot path (the publish stage).
    mapAsync((job) => {
      if (!healthy(job)) return Promise.resolve(job);
      ledger.in();
      let p: Promise<Job>;
      try {
        p = Promise.resolve(fn(job));
      } catch (err) {
        return Promise.resolve(countOut(ledger, name, fail(job, name, err)));
      }
      return p.then(
        (out) => countOut(ledger, name, out),
        (err: unknown) => countOut(ledger, name, fail(job, name, err)),
      );
    }),
  );
}

/**
 * Wraps a user-written operator as a stage. The operator sees one healthy job
 * at a time; its first emission is the stage's result, an error fails that
 * job, and emitting nothing fails it with REALER_ERR_STAGE_LOST_JOB.
 */
export function defineStage(
  name: string,
  failures: readonly RealerErrorConstructor[],
  operator: OperatorFunction<Job, Job>,
): Stage {
  const ledger = stageLedger(name);
  const run = (job: Job): Observable<Job> =>
    of(job).pipe(
      operator,
      take(1),
      catchError((err: unknown) => of(fail(job, name, err))),
      defaultIfEmpty(undefined),
      map((out) => countOut(ledger, name, out ?? fail(job, name, new StageLostJob(name)))),
    );
  return asStage(
    name,
    failures,
    mergeMap((job) => {
      if (!healthy(job)) return of(job);
      ledger.in();
      return run(job);
    }),
  );
}
