/**
 * The producer: turns a typed body into an event and stores it on the events
 * stream. The event id doubles as the stream's dedupe id, so publishing the
 * same event twice (a retry after a lost ack) stores it once.
 */
import type { Broker, PubAck } from "../broker/types.js";
import { createEvent, encodeEvent, type Event, type NewEvent } from "../events/envelope.js";
import type { EventRegistry } from "../events/registry.js";
import { EventInvalid } from "../errors.js";

export interface ProducerOptions {
  broker: Broker;
  registry: EventRegistry;
  /** Events subject prefix ("realer.events"). */
  prefix: string;
  /** Written into every event's `producer` field. */
  name?: string;
}

export interface EmitOptions {
  id?: string;
  traceId?: string;
  headers?: Record<string, string>;
}

export interface Emitted {
  event: Event;
  ack: PubAck;
}

export const MAX_KEY_LENGTH = 256;

export class Producer {
  readonly #o: ProducerOptions;

  constructor(o: ProducerOptions) {
    this.#o = o;
  }

  /** Encodes `body` as `type` and publishes it; resolves once stored. */
  async emit(type: string, key: string, body: Record<string, unknown>, opts: EmitOptions = {}): Promise<Emitted> {
    const t = this.#o.registry.get(type);
    if (!key || key.length > MAX_KEY_LENGTH) throw new EventInvalid(`key must be 1-${MAX_KEY_LENGTH} characters`);
    let payload: Uint8Array;
    try {
      payload = t.encode(body);
    } catch (err) {
      throw new EventInvalid(`body does not fit ${type}: ${(err as Error).message}`);
    }
    const e: NewEvent = { type, key, payload, producer: this.#o.name ?? "realer" };
    if (opts.id) e.id = opts.id;
    if (opts.traceId) e.traceId = opts.traceId;
    if (opts.headers) e.headers = opts.headers;
    return this.publishEvent(createEvent(e));
  }

  /** Publishes a ready envelope. */
  async publishEvent(event: Event): Promise<Emitted> {
    const subject = `${this.#o.prefix}.${event.type}`;
    const ack = await this.#o.broker.publish(subject, encodeEvent(event), {
      msgId: event.id,
      headers: { "Realer-Trace-Id": event.traceId },
    });
    return { event, ack };
  }
}
