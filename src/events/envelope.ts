import { randomUUID } from "node:crypto";
import { EventDecode, EventInvalid } from "../errors.js";
import { checkEnvelope } from "./envelope-rules.js";
import { realer } from "./proto.js";
import type { EventRegistry, EventType } from "./registry.js";

export type Event = realer.v1.Event;
export type ChannelMessage = realer.v1.ChannelMessage;
export const Event = realer.v1.Event;
export const ChannelMessage = realer.v1.ChannelMessage;

export interface NewEvent {
  type: string;
  key: string;
  payload: Uint8Array;
  id?: string | undefined;
  producer?: string | undefined;
  traceId?: string | undefined;
  headers?: Record<string, string> | undefined;
  occurredAt?: number | undefined;
}

/** Fills in the envelope: a fresh id and trace id unless given, now as occurred_at. */
export function createEvent(e: NewEvent): Event {
  return Event.create({
    id: e.id ?? randomUUID(),
    type: e.type,
    key: e.key,
    payload: e.payload,
    producer: e.producer ?? "",
    traceId: e.traceId ?? randomUUID().replaceAll("-", ""),
    headers: e.headers ?? {},
    occurredAt: e.occurredAt ?? Date.now(),
  });
}

/** What a caller may set on a new event besides its type, key and body. */
export interface EventFields {
  /** Event id and dedupe id. Default: a new UUID. */
  id?: string;
  traceId?: string;
  headers?: Record<string, string>;
  /** When it happened, Unix ms. Default: now. */
  occurredAt?: number;
  /** Who made it, e.g. "web-app@1.4.2". */
  producer?: string;
}

/**
 * A new event of `type` with `body` encoded as its payload, checked against
 * the envelope rules (envelope-rules.ts) before the body is encoded. Throws
 * REALER_ERR_EVENT_INVALID (a broken rule, a body that does not fit the type)
 * or REALER_ERR_HEADER_INVALID.
 */
export function buildEvent<T>(type: EventType<T>, key: string, body: T, fields: EventFields = {}): Event {
  checkEnvelope({ type: type.name, key, id: fields.id, traceId: fields.traceId, headers: fields.headers });
  let payload: Uint8Array;
  try {
    payload = type.encode(body);
  } catch (err) {
    throw new EventInvalid(`body does not fit ${type.name}: ${(err as Error).message}`);
  }
  const e: NewEvent = { type: type.name, key, payload };
  if (fields.producer) e.producer = fields.producer;
  if (fields.id) e.id = fields.id;
  if (fields.traceId) e.traceId = fields.traceId;
  if (fields.headers) e.headers = fields.headers;
  if (fields.occurredAt) e.occurredAt = fields.occurredAt;
  return createEvent(e);
}

export function encodeEvent(e: Event): Uint8Array {
  return Event.encode(e).finish();
}

export function decodeEvent(bytes: Uint8Array): Event {
  return Event.decode(bytes);
}

/** A stored event's envelope; malformed bytes fail with REALER_ERR_EVENT_DECODE. */
export function decodeEnvelope(bytes: Uint8Array): Event {
  try {
    return decodeEvent(bytes);
  } catch (err) {
    throw new EventDecode((err as Error).message);
  }
}

/**
 * An event's payload as a plain object of its registered type (camelCase
 * keys): REALER_ERR_EVENT_UNKNOWN_TYPE for an unregistered type,
 * REALER_ERR_EVENT_DECODE for bytes that are not a message of it.
 */
export function decodePayload(registry: EventRegistry, event: Event): Record<string, unknown> {
  const type = registry.get(event.type);
  try {
    return type.decode(event.payload);
  } catch (err) {
    throw new EventDecode(`payload of ${event.type}: ${(err as Error).message}`);
  }
}

export function encodeChannelMessage(m: realer.v1.ChannelMessage.$Properties): Uint8Array {
  return ChannelMessage.encode(m).finish();
}

export function decodeChannelMessage(bytes: Uint8Array): ChannelMessage {
  return ChannelMessage.decode(bytes);
}
