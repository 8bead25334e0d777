import { EventInvalid } from "../errors.js";
import { syncStage } from "./stage.js";
import type { Handler } from "./types.js";

/** The longest ordering key an event may carry (the producer enforces the same). */
export const MAX_KEY_LENGTH = 256;

/**
 * Checks the envelope's rules (an id, a key of 1-256 characters) and then the
 * handler's own `validate` rules. A broken rule drops the event with
 * REALER_ERR_EVENT_INVALID naming the rule.
 */
export function validate(handlers: ReadonlyMap<string, Handler>) {
  return syncStage("validate", [EventInvalid], (job) => {
    const event = job.event!;
    if (!event.id) throw new EventInvalid("missing id");
    if (!event.key || event.key.length > MAX_KEY_LENGTH)
      throw new EventInvalid(`key must be 1-${MAX_KEY_LENGTH} characters`);
    const handler = handlers.get(event.type);
    if (!handler) throw new EventInvalid(`no handler for type ${event.type}`);
    const why = handler.validate?.(job.body!, event);
    if (why) throw new EventInvalid(why);
    return job;
  });
}
