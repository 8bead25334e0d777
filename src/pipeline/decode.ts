import { EventDecode, EventUnknownType } from "../errors.js";
import { decodeEvent } from "../events/envelope.js";
import type { EventRegistry } from "../events/registry.js";
import { syncStage } from "./stage.js";

/**
 * Decodes the envelope and its payload. Malformed bytes (REALER_ERR_EVENT_DECODE)
 * or an unregistered type (REALER_ERR_EVENT_UNKNOWN_TYPE) drop the event.
 */
export function decode(registry: EventRegistry) {
  return syncStage("decode", [EventDecode, EventUnknownType], (job) => {
    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(job.delivery.data);
    } catch (err) {
      throw new EventDecode((err as Error).message);
    }
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
