import { EventInvalid } from "../errors.js";
import type { Renderer } from "./render.js";
import type { Stage } from "./stage.js";

/**
 * Renders what clients show, once per event, and serializes it once for every
 * channel the route stage chose (render.ts). A handler that throws fails the
 * event with the disposition of what it threw (unknown errors are retried).
 */
export function format(renderer: Renderer): Stage<"routed", "formatted"> {
  return {
    kind: "sync",
    name: "format",
    failures: [EventInvalid],
    needs: "routed",
    gives: "formatted",
    run: (job) => {
      const { rendered, outputs } = renderer.format(job.event, job.body, job.channels, job.context);
      return { ...job, rendered, outputs };
    },
  };
}
