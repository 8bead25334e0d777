/**
 * Stage lists into operators. `compileStages` checks that every stage gets
 * the job it needs (a list naming "format" before "route" is a configuration
 * error, not a failure of every event), then builds one operator chain that
 * keeps each stage's contract (stage.ts): it runs on healthy jobs only, a
 * throw fails that job alone, every job comes out once, the ledger counts it.
 *
 * Consecutive synchronous stages run as one `map` that calls them in turn:
 * an RxJS operator per stage cost a subscriber hop per job and stage on the
 * hot path. Each still sees only healthy jobs and counts its own ledger.
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
import { ConfigInvalid, StageLostJob } from "../errors.js";
import { type StageLedger, stageLedger } from "../metrics/ledger.js";
import { type Claimed, fail, healthy, type Job } from "./job.js";
import { mapAsync } from "./map-async.js";
import type { AnyStage, AsyncStage, OperatorStage, Progress, SyncStage } from "./stage.js";

const RANK: Readonly<Record<Progress, number>> = { claimed: 0, decoded: 1, routed: 2, formatted: 3 };
/** The built-in stage that takes a job to each progress, for the configuration error. */
const GIVEN_BY: Readonly<Record<Progress, string>> = {
  claimed: "the worker",
  decoded: "decode",
  routed: "route",
  formatted: "format",
};

/**
 * The progress of a job after `stages`, from `from`. Throws
 * REALER_ERR_CONFIG_INVALID for a stage placed before what it needs.
 */
export function progressAfter(stages: readonly AnyStage[], from: Progress): Progress {
  let at = from;
  for (const s of stages) {
    if (RANK[s.needs] > RANK[at])
      throw new ConfigInvalid(
        `stage "${s.name}" needs a ${s.needs} job: put it after ${GIVEN_BY[s.needs]} in the stage list`,
      );
    if (RANK[s.gives] > RANK[at]) at = s.gives;
  }
  return at;
}

/** Counts a job out of stage `name`: passed, or how it failed or was skipped there. */
function countOut(ledger: StageLedger, name: string, job: Job): Job {
  const f = job.failure;
  if (!f && !job.skipped) ledger.passed();
  else if (f && f.stage === name) {
    ledger.out(f.disposition === "retry" ? "retried" : f.disposition === "fatal" ? "failed" : "dropped");
  } else if (job.skipped?.stage === name) ledger.out("dropped");
  else ledger.passed();
  return job;
}

/** One synchronous stage applied to a job, guarded and counted. */
type GuardedRun = (job: Job) => Job;

function guardSync(stage: SyncStage<Progress, Progress>): GuardedRun {
  const ledger = stageLedger(stage.name);
  return (job) => {
    if (!healthy(job)) return job;
    ledger.in();
    let out: Job;
    try {
      out = stage.run(job);
    } catch (err) {
      out = fail(job, stage.name, err);
    }
    return countOut(ledger, stage.name, out);
  };
}

function guardAsync(stage: AsyncStage<Progress, Progress>): OperatorFunction<Job, Job> {
  const ledger = stageLedger(stage.name);
  // Plain promise callbacks rather than an async wrapper: one promise fewer
  // per job on the hot path (the publish stage).
  return mapAsync((job: Job): Promise<Job> => {
    if (!healthy(job)) return Promise.resolve(job);
    ledger.in();
    let p: Promise<Job>;
    try {
      p = Promise.resolve(stage.run(job));
    } catch (err) {
      return Promise.resolve(countOut(ledger, stage.name, fail(job, stage.name, err)));
    }
    return p.then(
      (out) => countOut(ledger, stage.name, out),
      (err: unknown) => countOut(ledger, stage.name, fail(job, stage.name, err)),
    );
  });
}

function guardOperator(stage: OperatorStage<Progress, Progress>): OperatorFunction<Job, Job> {
  const ledger = stageLedger(stage.name);
  const run = (job: Claimed): Observable<Job> =>
    stage.operator(of(job)).pipe(
      take(1),
      catchError((err: unknown) => of(fail(job, stage.name, err))),
      defaultIfEmpty(undefined),
      map((out) => countOut(ledger, stage.name, out ?? fail(job, stage.name, new StageLostJob(stage.name)))),
    );
  return mergeMap((job) => {
    if (!healthy(job)) return of(job);
    ledger.in();
    return run(job);
  });
}

/** Consecutive synchronous stages as one `map`. */
function runInOneMap(runs: readonly GuardedRun[]): OperatorFunction<Job, Job> {
  const [only] = runs;
  if (runs.length === 1 && only) return map(only);
  return map((job) => {
    let j = job;
    for (const run of runs) j = run(j);
    return j;
  });
}

/**
 * One operator for a stage list whose jobs arrive at progress `from`
 * ("decoded" for a type's stages). Throws REALER_ERR_CONFIG_INVALID when a
 * stage would get a job without what it needs.
 */
export function compileStages(
  stages: readonly AnyStage[],
  from: Progress = "decoded",
): OperatorFunction<Job, Job> {
  progressAfter(stages, from);
  const ops: OperatorFunction<Job, Job>[] = [];
  let syncRuns: GuardedRun[] = [];
  for (const stage of stages) {
    if (stage.kind === "sync") {
      syncRuns.push(guardSync(stage));
      continue;
    }
    if (syncRuns.length > 0) ops.push(runInOneMap(syncRuns));
    syncRuns = [];
    ops.push(stage.kind === "async" ? guardAsync(stage) : guardOperator(stage));
  }
  if (syncRuns.length > 0) ops.push(runInOneMap(syncRuns));
  return (source) => ops.reduce((jobs, op) => jobs.pipe(op), source);
}
