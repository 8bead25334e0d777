import { EventInvalid } from "../errors.js";
import type { Renderer } from "./render.js";
import type { Stage } from "./stage.js";

/**
 * Routes an event to its channels from its handler's templates, e.g.
 * `thread:{thread_id}` and `user:{author}` (render.ts). An empty field or a
 * channel name outside the grammar drops the event with REALER_ERR_EVENT_INVALID.
 */
export function route(renderer: Renderer): Stage<"decoded", "routed"> {
  return {
    kind: "sync",
    name: "route",
    failures: [EventInvalid],
    needs: "decoded",
    gives: "routed",
    run: (job) => ({ ...job, channels: renderer.channels(job.event.type, job.body) }),
  };
}
