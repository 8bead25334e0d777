/**
 * Ingest bodies to event envelopes. Pure apart from the registry lookup, so
 * every refusal is testable without HTTP. A request is checked whole before
 * anything is published: one bad event in a batch refuses the batch.
 *
 * JSON event: { "type", "key", "data", "id"?, "trace_id"?, "occurred_at"?, "headers"? },
 * `data` mapped onto the type's protobuf schema (camelCase or snake_case keys).
 * Protobuf: an encoded realer.v1.Event (or realer.v1.EventBatch) whose payload
 * is the encoded body; empty id, trace id and occurred_at are filled in.
 */
import { BadRequest, EventDecode, EventInvalid } from "../errors.js";
import { buildEvent, createEvent, type Event } from "../events/envelope.js";
import { checkEnvelope } from "../events/envelope-rules.js";
import { realer } from "../events/proto.js";
import type { EventRegistry } from "../events/registry.js";
import { camelKeys, unknownField } from "./fields.js";

/** What the ingest turns bodies into events with: the event types, and the name it writes as `producer`. */
export interface IngestTypes {
  registry: EventRegistry;
  /** Written into the `producer` field of an event that names none. */
  producer: string;
}

const JSON_FIELDS = new Set(["type", "key", "data", "id", "trace_id", "occurred_at", "headers"]);

function fieldPath(where: string, field: string): string {
  return where ? `${where}.${field}` : field;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const nonEmpty = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** What every EventInvalid message starts with, so a detail is not prefixed twice. */
const INVALID = new EventInvalid("").message;

/** A broken envelope rule, prefixed with where in the request it is. */
function inRequest<T>(where: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (where && err instanceof EventInvalid)
      throw new EventInvalid(
        `${where}: ${err.message.slice(err.message.startsWith(INVALID) ? INVALID.length : 0)}`,
      );
    throw err;
  }
}

/**
 * One JSON event. A missing field, an empty one or one of the wrong JSON type
 * is refused with REALER_ERR_BAD_REQUEST naming it; any other broken envelope
 * rule with REALER_ERR_EVENT_INVALID, as for every producer.
 */
export function eventFromJson(types: IngestTypes, body: unknown, where = ""): Event {
  if (!isObject(body)) throw new BadRequest(`${where || "body"} must be a JSON object`);
  for (const k of Object.keys(body))
    if (!JSON_FIELDS.has(k)) throw new BadRequest(`${fieldPath(where, k)} is not a known field`);
  const { type, key, data, id, trace_id: traceId, occurred_at: occurredAt, headers } = body;
  if (!nonEmpty(type)) throw new BadRequest(`${fieldPath(where, "type")} must be a non-empty string`);
  if (!nonEmpty(key)) throw new BadRequest(`${fieldPath(where, "key")} must be a non-empty string`);
  if (!isObject(data)) throw new BadRequest(`${fieldPath(where, "data")} must be an object`);
  if (id !== undefined && !nonEmpty(id))
    throw new BadRequest(`${fieldPath(where, "id")} must be a non-empty string`);
  if (traceId !== undefined && typeof traceId !== "string")
    throw new BadRequest(`${fieldPath(where, "trace_id")} must be a string`);
  if (occurredAt !== undefined && (!Number.isSafeInteger(occurredAt) || (occurredAt as number) < 0)) {
    throw new BadRequest(`${fieldPath(where, "occurred_at")} must be Unix milliseconds`);
  }
  if (
    headers !== undefined &&
    !(isObject(headers) && Object.values(headers).every((v) => typeof v === "string"))
  ) {
    throw new BadRequest(`${fieldPath(where, "headers")} must be an object of strings`);
  }
  const fields = camelKeys(data) as Record<string, unknown>;
  const t = types.registry.get(type);
  const event = inRequest(where, () =>
    buildEvent(t, key, fields, {
      producer: types.producer,
      ...(id !== undefined ? { id } : {}),
      ...(traceId ? { traceId } : {}),
      ...(occurredAt ? { occurredAt: occurredAt as number } : {}),
      ...(headers ? { headers: headers as Record<string, string> } : {}),
    }),
  );
  const unknown = unknownField(fields, t.decode(event.payload), fieldPath(where, "data"));
  if (unknown) throw new EventInvalid(`${unknown} is not a field of ${t.name}`);
  return event;
}

export function batchFromJson(types: IngestTypes, body: unknown, maxBatch: number): Event[] {
  if (!isObject(body) || !Array.isArray(body.events))
    throw new BadRequest('body must be {"events": [ ... ]}');
  for (const k of Object.keys(body)) if (k !== "events") throw new BadRequest(`${k} is not a known field`);
  return checkBatchSize(body.events, maxBatch).map((e, i) => eventFromJson(types, e, `events[${i}]`));
}

/**
 * A decoded protobuf envelope, checked as strictly as a JSON one: a registered
 * type, the envelope rules, and a payload that decodes. An empty id, trace id
 * or occurred_at is filled in.
 */
function eventFromEnvelope(types: IngestTypes, e: realer.v1.Event, where = "event"): Event {
  const t = types.registry.get(e.type);
  const fields = {
    type: t.name,
    key: e.key,
    id: e.id || undefined,
    traceId: e.traceId || undefined,
    headers: { ...e.headers },
  };
  inRequest(where, () => checkEnvelope(fields));
  try {
    t.decode(e.payload);
  } catch (err) {
    throw new EventDecode(`${where}: payload is not a valid ${t.name}: ${(err as Error).message}`);
  }
  // The payload bytes are kept as sent: they decoded, so the worker can read them.
  return createEvent({
    ...fields,
    payload: e.payload,
    producer: e.producer || types.producer,
    occurredAt: Number(e.occurredAt) || undefined,
  });
}

export function eventFromProtobuf(types: IngestTypes, body: Buffer): Event {
  let e: realer.v1.Event;
  try {
    e = realer.v1.Event.decode(body);
  } catch (err) {
    throw new EventDecode(`body is not a valid realer.v1.Event: ${(err as Error).message}`);
  }
  return eventFromEnvelope(types, e);
}

export function batchFromProtobuf(types: IngestTypes, body: Buffer, maxBatch: number): Event[] {
  let b: realer.v1.EventBatch;
  try {
    b = realer.v1.EventBatch.decode(body);
  } catch (err) {
    throw new EventDecode(`body is not a valid realer.v1.EventBatch: ${(err as Error).message}`);
  }
  return checkBatchSize(b.events, maxBatch).map((e, i) =>
    eventFromEnvelope(types, e as realer.v1.Event, `events[${i}]`),
  );
}

function checkBatchSize<T>(events: T[], maxBatch: number): T[] {
  if (events.length === 0) throw new BadRequest("events must not be empty");
  if (events.length > maxBatch)
    throw new BadRequest(`events has ${events.length} entries; at most ${maxBatch} are allowed`);
  return events;
}
