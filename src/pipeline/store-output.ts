import type { Broker, PubAck } from "../broker/types.js";
import { channelSubject } from "../events/channel.js";
import { type Event, encodeChannelMessage } from "../events/envelope.js";
import type { Output } from "./handler.js";

/**
 * Stores one channel message of `event` on the channel stream. Its dedupe id is
 * `${event.id}:${channel}` (plus `dedupeSuffix`, which a replay sets so that a
 * re-render is not suppressed as a duplicate of the original).
 */
export function storeOutput(
  broker: Broker,
  subjectPrefix: string,
  event: Event,
  o: Output,
  extra: { dedupeSuffix?: string; headers?: Record<string, string> } = {},
): Promise<PubAck> {
  return broker.publish(
    channelSubject(subjectPrefix, o.channel),
    encodeChannelMessage({
      channel: o.channel,
      eventId: event.id,
      type: o.type,
      data: o.data,
      traceId: event.traceId,
    }),
    {
      msgId: `${event.id}:${o.channel}${extra.dedupeSuffix ?? ""}`,
      ...(extra.headers ? { headers: extra.headers } : {}),
    },
  );
}
