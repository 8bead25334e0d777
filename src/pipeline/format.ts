import { syncStage } from "./stage.js";
import type { Handler } from "./types.js";

/** Renders what clients show, once per event, and serializes it once for every channel. */
export function format(handlers: ReadonlyMap<string, Handler>) {
  return syncStage("format", (job) => {
    const rendered = handlers.get(job.event!.type)!.format(job.body!, job.event!);
    const data = JSON.stringify(rendered.data);
    const outputs = job.channels!.map((channel) => ({ channel, type: rendered.type, data }));
    return { ...job, rendered, outputs };
  });
}
