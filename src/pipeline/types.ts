import type { OperatorFunction } from "rxjs";
import type { Delivery } from "../broker/types.js";
import type { Disposition, RealerErrorConstructor } from "../errors.js";
import type { Event } from "../events/envelope.js";

/** What a handler renders for clients: the SSE event name and its JSON-ready data. */
export interface Rendered {
  type: string;
  data: unknown;
}

/** How one event type becomes channel messages. */
export interface Handler<B = Record<string, unknown>> {
  /** Channel templates, e.g. "thread:{comment.thread_id}"; fields of the body in braces. */
  routes: string[];
  /** Renders what clients show; pure. `context` holds what enrich stages added (empty without them). */
  format(body: B, event: Event, context: Readonly<Record<string, unknown>>): Rendered;
  /**
   * Rules beyond the protobuf schema, run by the validate stage: returns why the
   * body is invalid, or undefined when it is fine. An invalid event is dropped.
   */
  validate?(body: B, event: Event): string | undefined;
}

export interface Output {
  channel: string;
  type: string;
  /** JSON text, written into SSE frames as is. */
  data: string;
}

export interface Failure {
  stage: string;
  error: Error;
  disposition: Disposition;
}

/** A job a stage chose not to process further (filtered, duplicate): acked with no output. */
export interface Skip {
  stage: string;
  reason: string;
}

/**
 * One event on its way through the pipeline. Stages return a new Job; a
 * failed or skipped job flows on untouched to `settle`, which alone acks,
 * naks or terms.
 */
export interface Job {
  readonly delivery: Delivery;
  readonly event?: Event | undefined;
  readonly body?: Record<string, unknown> | undefined;
  /** What enrich stages looked up, merged by name; read by format. */
  readonly context?: Readonly<Record<string, unknown>> | undefined;
  readonly channels?: string[] | undefined;
  readonly rendered?: Rendered | undefined;
  readonly outputs?: Output[] | undefined;
  readonly failure?: Failure | undefined;
  readonly skipped?: Skip | undefined;
}

/**
 * A stage: an RxJS operator over jobs that also says its name and the
 * failures it can produce (catalogue errors, each with its disposition).
 * Contract: for every job it receives it emits exactly one job; a job that
 * already failed or was skipped passes through untouched. Build stages with
 * `syncStage`, `asyncStage` or `defineStage` (stage.ts), which keep the
 * contract and count the ledger.
 */
export type Stage = OperatorFunction<Job, Job> & {
  readonly stageName: string;
  readonly failures: readonly RealerErrorConstructor[];
  /**
   * Set by `syncStage`: the stage's whole per-job step (guard, ledger, `fn`),
   * the same function its operator maps with. A pipeline runs consecutive
   * stages that have one in a single operator (pipeline.ts) instead of an
   * operator each; the jobs, failures and ledger counts are the same.
   */
  readonly step?: (job: Job) => Job;
};

/**
 * A new job for a delivery, with every field of `Job` present (undefined
 * until a stage sets it), in one order. Each stage returns `{ ...job, field }`:
 * from a job of this one shape that copy keeps the shape, so every job in the
 * pipeline has the same hidden class. A job that starts with `delivery` only
 * gains fields stage by stage, and V8 then built the copy's shape anew for
 * every event (a runtime call per stage, a few percent of the worker's CPU).
 */
export function newJob(delivery: Delivery): Job {
  return {
    delivery,
    event: undefined,
    body: undefined,
    context: undefined,
    channels: undefined,
    rendered: undefined,
    outputs: undefined,
    failure: undefined,
    skipped: undefined,
  };
}
