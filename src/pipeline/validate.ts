import { EventInvalid, HeaderInvalid } from "../errors.js";
import { checkEnvelope } from "../events/envelope-rules.js";
import type { Handler } from "./handler.js";
import { syncStage } from "./stage.js";

/**
 * Checks the envelope rules every producer checks too (events/envelope-rules.ts:
 * an event written straight onto the stream skipped them), then the handler's
 * own `validate` rules. A broken rule drops the event with
 * REALER_ERR_EVENT_INVALID naming it (a refused header included: here it is
 * the event that is bad, not a request).
 */
export function validate(handlers: ReadonlyMap<string, Handler>) {
  return syncStage("validate", [EventInvalid], (job) => {
    const { event } = job;
    try {
      checkEnvelope(event);
    } catch (err) {
      if (err instanceof HeaderInvalid) throw new EventInvalid(err.message);
      throw err;
    }
    const handler = handlers.get(event.type);
    if (!handler) throw new EventInvalid(`no handler for type ${event.type}`);
    const why = handler.validate?.(job.body, event);
    if (why) throw new EventInvalid(why);
    return job;
  });
}
