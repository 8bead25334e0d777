import { EventInvalid } from "../errors.js";
import type { Renderer } from "./render.js";
import { syncStage } from "./stage.js";

/**
 * Renders what clients show, once per event, and serializes it once for every
 * channel the route stage chose (render.ts). A handler that throws fails the
 * event with the disposition of what it threw (unknown errors are retried).
 */
export function format(renderer: Renderer) {
  return syncStage("format", [EventInvalid], (job) => ({
    ...job,
    ...renderer.format(job.event!, job.body!, job.channels!, job.context),
  }));
}
