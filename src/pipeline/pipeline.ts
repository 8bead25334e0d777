import { type OperatorFunction, pipe } from "rxjs";
import type { Broker } from "../broker/types.js";
import type { EventRegistry } from "../events/registry.js";
import { decode } from "./decode.js";
import { format } from "./format.js";
import { publish } from "./publish.js";
import { route } from "./route.js";
import type { Handler, Job } from "./types.js";

export interface PipelineOptions {
  broker: Broker;
  registry: EventRegistry;
  handlers: ReadonlyMap<string, Handler>;
  channelPrefix: string;
  /** Jobs publishing at once. */
  concurrency: number;
}

/** decode -> route -> format -> publish; `settle` follows in the worker. */
export function standardPipeline(o: PipelineOptions): OperatorFunction<Job, Job> {
  return pipe(decode(o.registry), route(o.handlers), format(o.handlers), publish(o.broker, o.channelPrefix, o.concurrency));
}
