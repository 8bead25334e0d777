import { EventDecode, EventUnknownType } from "../errors.js";
import { decodeEnvelope, decodePayload } from "../events/envelope.js";
import type { EventRegistry } from "../events/registry.js";
import type { Stage } from "./stage.js";

/**
 * Decodes the envelope and its payload. Malformed bytes (REALER_ERR_EVENT_DECODE)
 * or an unregistered type (REALER_ERR_EVENT_UNKNOWN_TYPE) drop the event.
 */
export function decode(registry: EventRegistry): Stage<"claimed", "decoded"> {
  return {
    kind: "sync",
    name: "decode",
    failures: [EventDecode, EventUnknownType],
    needs: "claimed",
    gives: "decoded",
    run: (job) => {
      const event = decodeEnvelope(job.delivery.data);
      return { ...job, event, body: decodePayload(registry, event) };
    },
  };
}
