import type { Broker } from "../broker/types.js";
import { PublishFailed } from "../errors.js";
import type { Formatted } from "./job.js";
import type { Stage } from "./stage.js";
import { storeOutput } from "./store-output.js";
import type { TurnWrites } from "./turn-writes.js";

/**
 * Publishes every output to the channel stream and resolves only when each is
 * stored, so settle acks an event only after all its channel messages exist.
 * The dedupe id `${event.id}:${channel}` means a redelivered event never
 * stores a second copy of a channel message. A failed store is retried.
 * The publishes of one event-loop turn start together at its end, so they
 * share a socket write (turn-writes.ts).
 */
export function publish(broker: Broker, subjectPrefix: string, writes: TurnWrites): Stage<"formatted"> {
  const failed = (err: unknown): never => {
    throw new PublishFailed((err as Error).message, { cause: err });
  };
  const storeAll = (job: Formatted): Promise<unknown> => {
    const [only] = job.outputs;
    if (only && job.outputs.length === 1) return storeOutput(broker, subjectPrefix, job.event, only);
    return Promise.all(job.outputs.map((o) => storeOutput(broker, subjectPrefix, job.event, o)));
  };
  return {
    kind: "async",
    name: "publish",
    failures: [PublishFailed],
    needs: "formatted",
    gives: "formatted",
    run: (job) => writes.startAtTurnEnd(() => storeAll(job)).then(() => job, failed),
  };
}
