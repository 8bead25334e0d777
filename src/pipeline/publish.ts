import type { Broker } from "../broker/types.js";
import { PublishFailed } from "../errors.js";
import { asyncStage } from "./stage.js";
import { storeOutput } from "./store-output.js";
import { turnBatch } from "./turn-batch.js";
import type { Output } from "./types.js";

/**
 * Publishes every output to the channel stream and resolves only when each is
 * stored, so settle acks an event only after all its channel messages exist.
 * The dedupe id `${event.id}:${channel}` means a redelivered event never
 * stores a second copy of a channel message. A failed store is retried.
 * The publishes of one event-loop turn start together at its end, so they
 * share a socket write (turn-batch.ts).
 */
export function publish(broker: Broker, subjectPrefix: string) {
  const failed = (err: unknown): never => {
    throw new PublishFailed((err as Error).message, { cause: err });
  };
  const later = turnBatch(broker);
  return asyncStage("publish", [PublishFailed], (job) => {
    const event = job.event!;
    const outputs = job.outputs!;
    const store = (): Promise<unknown> =>
      outputs.length === 1
        ? storeOutput(broker, subjectPrefix, event, outputs[0]!)
        : Promise.all(outputs.map((o: Output) => storeOutput(broker, subjectPrefix, event, o)));
    return later(store).then(() => job, failed);
  });
}
