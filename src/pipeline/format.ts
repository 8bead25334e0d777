import { EventInvalid } from "../errors.js";
import { syncStage } from "./stage.js";
import type { Handler } from "./types.js";

const NO_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * Renders what clients show, once per event, and serializes it once for every
 * channel the route stage chose. A handler that throws fails the event with
 * the disposition of what it threw (unknown errors are retried).
 */
export function format(handlers: ReadonlyMap<string, Handler>) {
  return syncStage("format", [EventInvalid], (job) => {
    const event = job.event!;
    const handler = handlers.get(event.type);
    if (!handler) throw new EventInvalid(`no handler for type ${event.type}`);
    const rendered = handler.format(job.body!, event, job.context ?? NO_CONTEXT);
    const data = JSON.stringify(rendered.data);
    const outputs = job.channels!.map((channel) => ({ channel, type: rendered.type, data }));
    return { ...job, rendered, outputs };
  });
}
