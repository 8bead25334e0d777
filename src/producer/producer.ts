/**
 * The producer SDK: turns a typed body into an event and stores it on the
 * events stream.
 *
 * Contracts:
 * - The event id is chosen before the first attempt and doubles as the
 *   stream's dedupe id, so a retry after a lost ack (or a server restart)
 *   stores the event once. Pass your own `id` (e.g. "comment:42:v3") to make
 *   an application-level retry harmless too.
 * - At most `maxInFlight` publishes await the broker at once; further emits
 *   wait in order, at most `maxPending` of them, then REALER_ERR_PRODUCER_OVERLOADED.
 * - While the broker is unreachable, publishes retry with exponential backoff
 *   and full jitter until `retry.timeoutMs`, then REALER_ERR_PUBLISH_TIMEOUT.
 * - A bad event (unknown type, a broken envelope rule of
 *   events/envelope-rules.ts, a body that does not fit its schema) rejects at
 *   once with REALER_ERR_EVENT_UNKNOWN_TYPE, REALER_ERR_EVENT_INVALID or, for a
 *   header, REALER_ERR_HEADER_INVALID.
 */

import type { Broker, PubAck } from "../broker/types.js";
import { EventUnknownType, ProducerClosed } from "../errors.js";
import { buildEvent, type Event, type EventFields, encodeEvent } from "../events/envelope.js";
import { eventSubject } from "../events/partition.js";
import type { EventType } from "../events/registry.js";
import {
  type CompiledProducerOptions,
  compileProducerOptions,
  type ProducerOptions,
  type RetryOptions,
} from "./options.js";
import { withRetry } from "./retry.js";
import { Slots } from "./slots.js";

export type { ProducerOptions, RetryOptions } from "./options.js";

export interface EmitOptions extends Omit<EventFields, "producer"> {
  /** Overrides `retry.timeoutMs` for this event, ms. */
  timeoutMs?: number;
}

export interface Emitted {
  event: Event;
  ack: PubAck;
}

export interface ProducerStats {
  /** Publishes awaiting the broker now. */
  inFlight: number;
  /** Emits waiting for an in-flight slot now. */
  pending: number;
  published: number;
  duplicates: number;
  retries: number;
  failed: number;
}

export class Producer {
  readonly #o: CompiledProducerOptions;
  readonly #slots: Slots;
  readonly #stats = { published: 0, duplicates: 0, retries: 0, failed: 0 };
  #closed = false;

  constructor(o: ProducerOptions) {
    this.#o = compileProducerOptions(o);
    this.#slots = new Slots(this.#o.maxInFlight, this.#o.maxPending);
  }

  get broker(): Broker {
    return this.#o.broker;
  }

  /** Written into the `producer` field of the events it builds. */
  get name(): string {
    return this.#o.name;
  }

  /** Whether its broker connection is up: while it is not, emits wait and retry. */
  get connected(): boolean {
    return this.#o.broker.connected;
  }

  stats(): ProducerStats {
    return { inFlight: this.#slots.held, pending: this.#slots.waiting, ...this.#stats };
  }

  /**
   * Encodes `body` as `type` and publishes it; resolves once the stream has
   * stored it. `type` is a typed EventType (checked at compile time) or a
   * registered type name.
   */
  emit<T>(type: EventType<T>, key: string, body: T, opts?: EmitOptions): Promise<Emitted>;
  emit(type: string, key: string, body: Record<string, unknown>, opts?: EmitOptions): Promise<Emitted>;
  async emit(
    type: EventType<unknown> | string,
    key: string,
    body: unknown,
    opts: EmitOptions = {},
  ): Promise<Emitted> {
    return this.publishEvent(this.build(type, key, body, opts), opts.timeoutMs);
  }

  /** Validates and encodes an event without publishing it (throws what `emit` would reject with). */
  build(type: EventType<unknown> | string, key: string, body: unknown, opts: EmitOptions = {}): Event {
    const t = typeof type === "string" ? this.typeOf(type) : type;
    const { timeoutMs: _, ...fields } = opts;
    return buildEvent(t, key, body, { ...fields, producer: this.#o.name });
  }

  /** Publishes a ready envelope (its id is the dedupe id), with the same bounds and retries as `emit`. */
  async publishEvent(event: Event, timeoutMs?: number): Promise<Emitted> {
    if (this.#closed) throw new ProducerClosed();
    await this.#slots.acquire();
    try {
      const subject = eventSubject(this.#o.prefix, this.#o.partitions, event.type, event.key || event.id);
      const data = encodeEvent(event);
      const retry: RetryOptions = timeoutMs === undefined ? this.#o.retry : { ...this.#o.retry, timeoutMs };
      const ack = await withRetry(
        event.id,
        () =>
          this.#o.broker.publish(subject, data, {
            msgId: event.id,
            headers: { "Realer-Trace-Id": event.traceId },
          }),
        retry,
        {
          onRetry: (err, attempt, delayMs) => {
            this.#stats.retries++;
            this.#o.log?.warn(
              { err, id: event.id, type: event.type, attempt, delayMs },
              "publish failed; retrying",
            );
          },
        },
      );
      this.#stats.published++;
      if (ack.duplicate) this.#stats.duplicates++;
      return { event, ack };
    } catch (err) {
      this.#stats.failed++;
      throw err;
    } finally {
      this.#slots.release();
    }
  }

  /** Resolves once no publish is in flight or waiting (emits made meanwhile are waited for too). */
  flush(): Promise<void> {
    return this.#slots.idle();
  }

  /** Refuses new emits and waits for those in flight; closes the broker only if it owns it (`ownsBroker`). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    if (this.#o.ownsBroker) await this.#o.broker.close();
  }

  /** The registered type of that name; REALER_ERR_EVENT_UNKNOWN_TYPE otherwise. */
  typeOf(name: string): EventType<unknown> {
    if (!this.#o.registry)
      throw new EventUnknownType(
        `${JSON.stringify(name)} (this producer has no registry: pass a typed EventType)`,
      );
    return this.#o.registry.get(name) as EventType<unknown>;
  }
}
