/**
 * A job: one event on its way through the pipeline. Its type says how far it
 * has come: `Claimed` (a delivery), then `Decoded` (envelope and body),
 * `Routed` (channels) and `Formatted` (channel messages); each stage takes
 * the shape it needs and returns the next. Stages return a new job and never
 * change one; a job that failed (`Failed`) or was skipped (`Skipped`) flows
 * on untouched to `settle`, which alone acks, naks or terms.
 */
import type { Delivery } from "../broker/types.js";
import { type Disposition, dispositionOf } from "../errors.js";
import type { Event } from "../events/envelope.js";
import type { Output, Rendered } from "./handler.js";

/** An event's payload as a plain object with camelCase keys. */
export type Body = Record<string, unknown>;
/** What enrich stages looked up, merged by name; format hands it to the handler. */
export type Context = Readonly<Record<string, unknown>>;

export interface Failure {
  stage: string;
  error: Error;
  disposition: Disposition;
}

/** Why a stage chose not to process a job further (filtered, duplicate): it is acked with no output. */
export interface Skip {
  stage: string;
  reason: string;
}

/** What every job has, and what it may have gained so far (settle and tests read them). */
interface JobBase {
  readonly delivery: Delivery;
  readonly event?: Event | undefined;
  readonly body?: Body | undefined;
  readonly context?: Context | undefined;
  readonly channels?: readonly string[] | undefined;
  readonly rendered?: Rendered | undefined;
  readonly outputs?: readonly Output[] | undefined;
}

/** A job that has neither failed nor been skipped, just claimed. */
export interface Claimed extends JobBase {
  readonly failure?: undefined;
  readonly skipped?: undefined;
}

/** Its envelope and body decoded. */
export interface Decoded extends Claimed {
  readonly event: Event;
  readonly body: Body;
}

/** Its channels chosen. */
export interface Routed extends Decoded {
  readonly channels: readonly string[];
}

/** What clients see rendered, and one channel message per channel. */
export interface Formatted extends Routed {
  readonly rendered: Rendered;
  readonly outputs: readonly Output[];
}

/** A job a stage failed: settle naks, dead-letters or stops on it, as `failure.disposition` says. */
export interface Failed extends JobBase {
  readonly failure: Failure;
  readonly skipped?: undefined;
}

/** A job a stage skipped: settle acks it. */
export interface Skipped extends JobBase {
  readonly skipped: Skip;
  readonly failure?: undefined;
}

/** Any job, as the stream between stages carries it. */
export type Job = Claimed | Failed | Skipped;

/** True when the job has neither failed nor been skipped. */
export const healthy = (job: Job): job is Claimed => job.failure === undefined && job.skipped === undefined;

/** The job, failed at `stage` with `err` and the disposition its catalogue code gives. */
export function fail(job: Job, stage: string, err: unknown): Failed {
  const error = err instanceof Error ? err : new Error(String(err));
  return { ...job, skipped: undefined, failure: { stage, error, disposition: dispositionOf(error) } };
}

/** The job, skipped at `stage`: it is acked without producing anything. */
export function skip(job: Job, stage: string, reason: string): Skipped {
  return { ...job, failure: undefined, skipped: { stage, reason } };
}

/**
 * A new job for a delivery, with every field a job ever gets present
 * (undefined until a stage sets it), in one order. Each stage returns
 * `{ ...job, field }`: from a job of this one shape that copy keeps the shape,
 * so every job in the pipeline has the same hidden class. A job that starts
 * with `delivery` only gains fields stage by stage, and V8 then built the
 * copy's shape anew for every event (a runtime call per stage, a few percent
 * of the worker's CPU).
 */
export function newJob(delivery: Delivery): Claimed {
  const job = {
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
  return job;
}
