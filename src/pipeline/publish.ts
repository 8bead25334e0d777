import type { Broker } from "../broker/types.js";
import { PublishFailed } from "../errors.js";
import { asyncStage } from "./stage.js";
import { storeOutput } from "./store-output.js";
import type { Output } from "./types.js";

/**
 * Publishes every output to the channel stream and resolves only when each is
 * stored, so settle acks an event only after all its channel messages exist.
 * The dedupe id `${event.id}:${channel}` means a redelivered event never
 * stores a second copy of a channel message. A failed store is retried.
 */
export function publish(broker: Broker, subjectPrefix: string) {
  return asyncStage("publish", [PublishFailed], async (job) => {
    const event = job.event!;
    const store = (o: Output) => storeOutput(broker, subjectPrefix, event, o);
    const outputs = job.outputs!;
    try {
      if (outputs.length === 1) await store(outputs[0]!);
      else await Promise.all(outputs.map(store));
    } catch (err) {
      throw new PublishFailed((err as Error).message, { cause: err });
    }
    return job;
  });
}
