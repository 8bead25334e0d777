/**
 * The stage API. A stage is plain data: its name, the failures it declares,
 * the shape of job it needs and the one it gives, and what it does to a job.
 * `compileStages` (compile.ts) turns a list of them into one RxJS operator
 * that keeps the contract for every stage: it runs only on healthy jobs, a
 * throw fails that job alone (never an Rx error), each job comes out exactly
 * once, and the ledger counts it.
 *
 * What a stage does is one of:
 * - `sync`: a function from a job to its next form;
 * - `async`: the same with a promise (jobs of different keys overlap in it);
 * - `operator`: any RxJS operator, run once per job: its first emission is
 *   the result, an error fails the job, and emitting nothing fails it with
 *   REALER_ERR_STAGE_LOST_JOB.
 * A stage may return its job skipped (`skip`, job.ts): acked, no output.
 *
 * `syncStage`, `asyncStage` and `defineStage` make the common kind: a stage
 * that needs a decoded job and adds to it (a filter, a lookup into
 * `context`), which may stand anywhere after decode.
 */
import type { Observable, OperatorFunction } from "rxjs";
import type { RealerErrorConstructor } from "../errors.js";
import type { Claimed, Decoded, Formatted, Routed, Skipped } from "./job.js";

/** How far a job has come, in the order stages take it there. */
export type Progress = "claimed" | "decoded" | "routed" | "formatted";

/** The job of each progress. */
export interface JobAt {
  claimed: Claimed;
  decoded: Decoded;
  routed: Routed;
  formatted: Formatted;
}

interface StageInfo<N extends Progress, G extends Progress> {
  /** Names the stage in the ledger, in failures and in dead letters. */
  readonly name: string;
  /** The catalogue errors it can fail a job with, each with its disposition. */
  readonly failures: readonly RealerErrorConstructor[];
  /** What a job must have when it reaches the stage: a list puts it after a stage that gives it. */
  readonly needs: N;
  /**
   * What the job has when it leaves. A stage that only adds to a job gives
   * what it needs, and keeps whatever more the job had (it returns `{ ...job, ... }`).
   */
  readonly gives: G;
}

// Methods, not function properties: a stage of any progress fits a list of
// stages (`Stage<Progress, Progress>`); compileStages checks each list's order,
// so a stage only ever gets jobs of the shape it needs.
export interface SyncStage<N extends Progress, G extends Progress> extends StageInfo<N, G> {
  readonly kind: "sync";
  run(job: JobAt[N]): JobAt[G] | Skipped;
}

export interface AsyncStage<N extends Progress, G extends Progress> extends StageInfo<N, G> {
  readonly kind: "async";
  run(job: JobAt[N]): Promise<JobAt[G] | Skipped>;
}

export interface OperatorStage<N extends Progress, G extends Progress> extends StageInfo<N, G> {
  readonly kind: "operator";
  operator(jobs: Observable<JobAt[N]>): Observable<JobAt[G] | Skipped>;
}

/** A stage; by default one that needs a decoded job and adds to it. */
export type Stage<N extends Progress = "decoded", G extends Progress = N> =
  | SyncStage<N, G>
  | AsyncStage<N, G>
  | OperatorStage<N, G>;

/** A stage of any progress, as a stage list holds them. */
export type AnyStage = Stage<Progress, Progress>;

/** A synchronous stage on decoded jobs: `fn` maps a healthy job to its next form (or throws). */
export function syncStage(
  name: string,
  failures: readonly RealerErrorConstructor[],
  fn: (job: Decoded) => Decoded | Skipped,
): Stage {
  return { kind: "sync", name, failures, needs: "decoded", gives: "decoded", run: fn };
}

/** An asynchronous stage on decoded jobs: I/O. Jobs of different keys overlap in it. */
export function asyncStage(
  name: string,
  failures: readonly RealerErrorConstructor[],
  fn: (job: Decoded) => Promise<Decoded | Skipped>,
): Stage {
  return { kind: "async", name, failures, needs: "decoded", gives: "decoded", run: fn };
}

/**
 * A user-written RxJS operator as a stage on decoded jobs. The operator sees
 * one healthy job at a time; its first emission is the stage's result, an
 * error fails that job, and emitting nothing fails it with REALER_ERR_STAGE_LOST_JOB.
 */
export function defineStage(
  name: string,
  failures: readonly RealerErrorConstructor[],
  operator: OperatorFunction<Decoded, Decoded | Skipped>,
): Stage {
  return { kind: "operator", name, failures, needs: "decoded", gives: "decoded", operator };
}
