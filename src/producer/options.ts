/**
 * Producer options: typed, each with its default and unit. `compileProducerOptions`
 * fills in defaults and validates without touching its input.
 */
import type { Broker } from "../broker/types.js";
import type { EventRegistry } from "../events/registry.js";
import type { Logger } from "../log/logger.js";

export interface RetryOptions {
  /** Cap of the first backoff delay, ms; the cap doubles per attempt. Default 100. */
  initialDelayMs: number;
  /** Largest backoff cap, ms. Default 5000. */
  maxDelayMs: number;
  /**
   * How long one event may take to be stored, retries included, ms. Past it
   * the emit rejects with REALER_ERR_PUBLISH_TIMEOUT. Default 60000.
   */
  timeoutMs: number;
}

export interface ProducerOptions {
  broker: Broker;
  /** Needed to emit by type name; typed `EventType` values work without it. */
  registry?: EventRegistry;
  /** Events subject prefix: an event of type T goes to `<prefix>.p<N>.<T>`. Default "realer.events". */
  prefix?: string;
  /** Partitions of the events stream (N is a hash of the key modulo this); workers must use the same. Default 64. */
  partitions?: number;
  /** Written into every event's `producer` field, e.g. "web-app@1.4.2". Default "realer". */
  name?: string;
  /** Publishes awaiting the broker's ack at once. Default 256. */
  maxInFlight?: number;
  /** Emits waiting for an in-flight slot; one more rejects with REALER_ERR_PRODUCER_OVERLOADED. Default 10000. */
  maxPending?: number;
  retry?: Partial<RetryOptions>;
  /** Retries are logged at warn level here. Default: not logged. */
  log?: Logger;
  /** `close()` also closes the broker. Default false: the broker belongs to the caller. */
  ownsBroker?: boolean;
}

export interface CompiledProducerOptions {
  broker: Broker;
  registry: EventRegistry | undefined;
  prefix: string;
  partitions: number;
  name: string;
  maxInFlight: number;
  maxPending: number;
  retry: RetryOptions;
  log: Logger | undefined;
  ownsBroker: boolean;
}

export function defaultRetryOptions(): RetryOptions {
  return { initialDelayMs: 100, maxDelayMs: 5_000, timeoutMs: 60_000 };
}

function positive(name: string, v: number, min: number): number {
  if (!Number.isFinite(v) || v < min)
    throw new RangeError(`producer option ${name} must be a number >= ${min}, got ${v}`);
  return v;
}

export function compileProducerOptions(o: ProducerOptions): CompiledProducerOptions {
  const retry = { ...defaultRetryOptions(), ...o.retry };
  return {
    broker: o.broker,
    registry: o.registry,
    prefix: o.prefix ?? "realer.events",
    partitions: Math.floor(positive("partitions", o.partitions ?? 64, 1)),
    name: o.name ?? "realer",
    maxInFlight: Math.floor(positive("maxInFlight", o.maxInFlight ?? 256, 1)),
    maxPending: Math.floor(positive("maxPending", o.maxPending ?? 10_000, 0)),
    retry: {
      initialDelayMs: positive("retry.initialDelayMs", retry.initialDelayMs, 1),
      maxDelayMs: positive("retry.maxDelayMs", retry.maxDelayMs, 1),
      timeoutMs: positive("retry.timeoutMs", retry.timeoutMs, 0),
    },
    log: o.log,
    ownsBroker: o.ownsBroker ?? false,
  };
}
