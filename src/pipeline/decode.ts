import { EventDecode, EventInvalid } from "../errors.js";
import { decodeEvent } from "../events/envelope.js";
import type { EventRegistry } from "../events/registry.js";
import { syncStage } from "./stage.js";

/** Decodes the envelope and its payload; malformed bytes or an unknown type drop the event. */
export function decode(registry: EventRegistry) {
  return syncStage("decode", (job) => {
    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(job.delivery.data);
    } catch (err) {
      throw new EventDecode((err as Error).message);
    }
    if (!event.id) throw new EventInvalid("missing id");
    if (!event.type) throw new EventInvalid("missing type");
    const type = registry.get(event.type);
    let body: Record<string, unknown>;
    try {
      body = type.decode(event.payload);
    } catch (err) {
      throw new EventDecode(`payload of ${event.type}: ${(err as Error).message}`);
    }
    return { ...job, event, body };
  });
}
