/**
 * Pipelines per event type, assembled from configuration and user code.
 *
 * Every event is decoded first (the type is in the envelope), then runs the
 * stage list of its type, one job per key at a time (keyed.ts), then settle
 * (in the worker). Built-in stages never error the stream; a user operator
 * should be wrapped with `defineStage`, which guards every job. A stage list names built-in stages ("validate", "dedupe",
 * "route", "format", "publish") and/or holds `Stage` objects written by the
 * user (stage.ts). Without a list of its own, a type runs `spec["*"]`, and
 * without that DEFAULT_STAGES. See docs/stages.md.
 */
import { connect, filter, map, merge, type OperatorFunction, pipe } from "rxjs";
import type { Broker } from "../broker/types.js";
import { ConfigInvalid } from "../errors.js";
import type { EventRegistry } from "../events/registry.js";
import { decode } from "./decode.js";
import { type DedupeOptions, dedupe } from "./dedupe.js";
import { format } from "./format.js";
import { keyed } from "./keyed.js";
import { publish } from "./publish.js";
import { Renderer } from "./render.js";
import { route } from "./route.js";
import type { Handler, Job, Stage } from "./types.js";
import { validate } from "./validate.js";

/** The stage list of a type when configuration gives none. */
export const DEFAULT_STAGES: readonly string[] = ["validate", "dedupe", "route", "format", "publish"];

/** Stage lists by event type; "*" applies to every type without its own. */
export type PipelineSpec = Readonly<Record<string, ReadonlyArray<string | Stage>>>;

export interface PipelineOptions {
  broker: Broker;
  registry: EventRegistry;
  handlers: ReadonlyMap<string, Handler>;
  /** Channel-stream subject prefix ("realer.ch"). */
  channelPrefix: string;
  /** Kept for callers of the first version; concurrency is bounded by the worker's maxInFlight. */
  concurrency?: number;
  /** Stage lists per type; default DEFAULT_STAGES for all. */
  spec?: PipelineSpec;
  /** Extra named stages that `spec` may refer to, e.g. a user's "load-author". */
  stages?: ReadonlyMap<string, () => Stage>;
  dedupe?: DedupeOptions;
}

/** The named stages configuration may use. Each call builds fresh stages. */
export function builtinStages(o: PipelineOptions): Map<string, () => Stage> {
  const renderer = new Renderer(o.handlers);
  return new Map<string, () => Stage>([
    ["validate", () => validate(o.handlers)],
    ["dedupe", () => dedupe(o.dedupe)],
    ["route", () => route(renderer)],
    ["format", () => format(renderer)],
    ["publish", () => publish(o.broker, o.channelPrefix)],
    ...(o.stages ?? new Map()),
  ]);
}

/**
 * Resolves a stage list into one operator; an unknown stage name is a
 * configuration error. Named stages are shared by the types that name them
 * (one dedupe memory for all types), built once.
 */
export function assembleStages(
  list: ReadonlyArray<string | Stage>,
  catalogue: ReadonlyMap<string, () => Stage>,
  built: Map<string, Stage> = new Map(),
): OperatorFunction<Job, Job> {
  const stages = list.map((s) => {
    if (typeof s !== "string") return s;
    let stage = built.get(s);
    if (!stage) {
      const make = catalogue.get(s);
      if (!make) throw new ConfigInvalid(`unknown stage "${s}"; known: ${[...catalogue.keys()].join(", ")}`);
      stage = make();
      built.set(s, stage);
    }
    return stage;
  });
  return fuse(stages);
}

/**
 * One operator for a stage list. Consecutive synchronous stages (those with a
 * `step`, see types.ts) run as one `map` that calls their steps in order: an
 * RxJS operator per stage cost a subscriber hop per job and stage on the hot
 * path. Each stage still sees only healthy jobs and counts its own ledger.
 */
function fuse(stages: readonly Stage[]): OperatorFunction<Job, Job> {
  const ops: OperatorFunction<Job, Job>[] = [];
  for (let i = 0; i < stages.length; ) {
    const steps: ((job: Job) => Job)[] = [];
    while (i < stages.length && stages[i]!.step) steps.push(stages[i++]!.step!);
    if (steps.length === 1) ops.push(map(steps[0]!));
    else if (steps.length > 1)
      ops.push(
        map((job) => {
          let j = job;
          for (const step of steps) j = step(j);
          return j;
        }),
      );
    if (i < stages.length && !stages[i]!.step) ops.push(stages[i++]!);
  }
  return (source) => ops.reduce((obs, op) => obs.pipe(op), source);
}

/**
 * A job's ordering key; it must not change inside the stages (a failure keeps
 * it). Undecodable jobs are their own key: a number, never equal to an event's
 * string key, and no string is built per job.
 */
const keyOf = (job: Job): string | number => (job.event ? job.event.key : job.delivery.seq);
const typeOf = (job: Job) => (job.failure ? "" : (job.event?.type ?? ""));

/**
 * The worker's pipeline: decode, then each type's stages with per-key order
 * (keyed.ts). The stages are subscribed once: jobs are split by type into
 * one branch per stage list and merged again. `settle` follows in the worker.
 */
export function standardPipeline(o: PipelineOptions): OperatorFunction<Job, Job> {
  const catalogue = builtinStages(o);
  const built = new Map<string, Stage>();
  const spec = o.spec ?? {};
  for (const type of Object.keys(spec)) {
    if (type !== "*" && !o.registry.has(type))
      throw new ConfigInvalid(`pipeline for unregistered event type "${type}"`);
  }
  const fallback = assembleStages(spec["*"] ?? DEFAULT_STAGES, catalogue, built);
  const own = new Map<string, OperatorFunction<Job, Job>>();
  for (const type of Object.keys(spec))
    if (type !== "*") own.set(type, assembleStages(spec[type]!, catalogue, built));
  const byType: OperatorFunction<Job, Job> =
    own.size === 0
      ? fallback
      : connect((jobs) =>
          merge(
            ...[...own].map(([type, stages]) =>
              jobs.pipe(
                filter((j) => typeOf(j) === type),
                stages,
              ),
            ),
            jobs.pipe(
              filter((j) => !own.has(typeOf(j))),
              fallback,
            ),
          ),
        );
  return pipe(decode(o.registry), keyed(keyOf, byType));
}
