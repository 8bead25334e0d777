/**
 * Pipelines per event type, compiled from configuration and user stages.
 *
 * Every event is decoded first (the type is in the envelope), then runs the
 * stage list of its type, one job per key at a time (key-order.ts), then
 * settle (in the worker). A stage list names built-in stages ("validate",
 * "dedupe", "route", "format", "publish") and/or holds `Stage` objects
 * written by the user (stage.ts). Without a list of its own, a type runs
 * `spec["*"]`, and without that DEFAULT_STAGES. See docs/stages.md.
 */
import { connect, filter, merge, type OperatorFunction, pipe } from "rxjs";
import type { Broker } from "../broker/types.js";
import { ConfigInvalid } from "../errors.js";
import type { EventRegistry } from "../events/registry.js";
import { compileStages } from "./compile.js";
import { decode } from "./decode.js";
import { type DedupeOptions, dedupe } from "./dedupe.js";
import { format } from "./format.js";
import type { Handler } from "./handler.js";
import type { Job } from "./job.js";
import { inKeyOrder } from "./key-order.js";
import { publish } from "./publish.js";
import { Renderer } from "./render.js";
import { route } from "./route.js";
import type { AnyStage } from "./stage.js";
import { TurnWrites } from "./turn-writes.js";
import { validate } from "./validate.js";

/** The stage list of a type when configuration gives none. */
export const DEFAULT_STAGES: readonly string[] = ["validate", "dedupe", "route", "format", "publish"];

/** Stage lists by event type; "*" applies to every type without its own. */
export type PipelineSpec = Readonly<Record<string, ReadonlyArray<string | AnyStage>>>;

export interface PipelineOptions {
  broker: Broker;
  registry: EventRegistry;
  handlers: ReadonlyMap<string, Handler>;
  /** Channel-stream subject prefix ("realer.ch"). */
  channelPrefix: string;
  /** Stage lists per type; default DEFAULT_STAGES for all. */
  spec?: PipelineSpec;
  /** Extra named stages that `spec` may refer to, e.g. a user's "load-author". */
  stages?: ReadonlyMap<string, () => AnyStage>;
  dedupe?: DedupeOptions;
}

/** A worker's pipeline, compiled once. */
export interface CompiledPipeline {
  /** Decode, then each type's stages, one job per key at a time; settle follows in the worker. */
  readonly operator: OperatorFunction<Job, Job>;
  /** This pipeline's publishes: settle sends its held-back acks in the same socket write. */
  readonly writes: TurnWrites;
}

/**
 * The named stages configuration may use, each made when first named:
 * the built-in ones (publishing through `writes`) and `o.stages`.
 */
export function namedStages(o: PipelineOptions, writes: TurnWrites): Map<string, () => AnyStage> {
  const renderer = new Renderer(o.handlers);
  return new Map<string, () => AnyStage>([
    ["validate", () => validate(o.handlers)],
    ["dedupe", () => dedupe(o.dedupe)],
    ["route", () => route(renderer)],
    ["format", () => format(renderer)],
    ["publish", () => publish(o.broker, o.channelPrefix, writes)],
    ...(o.stages ?? new Map()),
  ]);
}

/**
 * The stages of a list: names are made from `named` once and shared by the
 * types that name them (one dedupe memory for all types). An unknown name is
 * a configuration error.
 */
function resolveStages(
  list: ReadonlyArray<string | AnyStage>,
  named: ReadonlyMap<string, () => AnyStage>,
  made: Map<string, AnyStage>,
): AnyStage[] {
  return list.map((s) => {
    if (typeof s !== "string") return s;
    let stage = made.get(s);
    if (!stage) {
      const make = named.get(s);
      if (!make) throw new ConfigInvalid(`unknown stage "${s}"; known: ${[...named.keys()].join(", ")}`);
      stage = make();
      made.set(s, stage);
    }
    return stage;
  });
}

/**
 * A job's ordering key; it must not change inside the stages (a failure keeps
 * it). Undecodable jobs are their own key: a number, never equal to an event's
 * string key, and no string is built per job.
 */
const keyOf = (job: Job): string | number => (job.event ? job.event.key : job.delivery.seq);
const typeOf = (job: Job) => (job.failure ? "" : (job.event?.type ?? ""));

/**
 * Compiles the worker's pipeline: decode, then each type's stages with
 * per-key order (key-order.ts). The stages are subscribed once: jobs are
 * split by type into one branch per stage list and merged again. Throws
 * REALER_ERR_CONFIG_INVALID for an unknown stage name, a list for an
 * unregistered type, or a stage placed before what it needs (compile.ts).
 */
export function compilePipeline(o: PipelineOptions): CompiledPipeline {
  const writes = new TurnWrites();
  const named = namedStages(o, writes);
  const made = new Map<string, AnyStage>();
  const spec = o.spec ?? {};
  for (const type of Object.keys(spec)) {
    if (type !== "*" && !o.registry.has(type))
      throw new ConfigInvalid(`pipeline for unregistered event type "${type}"`);
  }
  const compile = (list: ReadonlyArray<string | AnyStage>) => compileStages(resolveStages(list, named, made));
  const fallback = compile(spec["*"] ?? DEFAULT_STAGES);
  const own = new Map<string, OperatorFunction<Job, Job>>();
  for (const [type, list] of Object.entries(spec)) if (type !== "*") own.set(type, compile(list));
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
  return {
    operator: pipe(compileStages([decode(o.registry)], "claimed"), inKeyOrder(keyOf, byType)),
    writes,
  };
}
