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
import { createEvent, type Event } from "../events/envelope.js";
import { realer } from "../events/proto.js";
import { checkHeaders, checkId, checkKey, checkTraceId, type Producer } from "../producer/producer.js";
import { camelKeys, unknownField } from "./fields.js";

const JSON_FIELDS = new Set(["type", "key", "data", "id", "trace_id", "occurred_at", "headers"]);

function at(where: string, field: string): string {
  return where ? `${where}.${field}` : field;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** One JSON event, refused with REALER_ERR_BAD_REQUEST naming the field, or the type's own error. */
export function eventFromJson(producer: Producer, body: unknown, where = ""): Event {
  if (!isObject(body)) throw new BadRequest(`${where || "body"} must be a JSON object`);
  for (const k of Object.keys(body))
    if (!JSON_FIELDS.has(k)) throw new BadRequest(`${at(where, k)} is not a known field`);
  const { type, key, data, id, trace_id: traceId, occurred_at: occurredAt, headers } = body;
  if (typeof type !== "string" || type.length === 0 || type.length > 200)
    throw new BadRequest(`${at(where, "type")} must be a string of 1-200 characters`);
  if (typeof key !== "string" || key.length === 0 || key.length > 256)
    throw new BadRequest(`${at(where, "key")} must be a string of 1-256 characters`);
  if (!isObject(data)) throw new BadRequest(`${at(where, "data")} must be an object`);
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > 128)) {
    throw new BadRequest(`${at(where, "id")} must be a string of 1-128 characters`);
  }
  if (traceId !== undefined && (typeof traceId !== "string" || traceId.length > 64)) {
    throw new BadRequest(`${at(where, "trace_id")} must be a string of at most 64 characters`);
  }
  if (occurredAt !== undefined && (!Number.isSafeInteger(occurredAt) || (occurredAt as number) < 0)) {
    throw new BadRequest(`${at(where, "occurred_at")} must be Unix milliseconds`);
  }
  if (
    headers !== undefined &&
    !(isObject(headers) && Object.values(headers).every((v) => typeof v === "string"))
  ) {
    throw new BadRequest(`${at(where, "headers")} must be an object of strings`);
  }
  const fields = camelKeys(data) as Record<string, unknown>;
  const t = producer.typeOf(type);
  const event = producer.build(t, key, fields, {
    ...(id ? { id: id as string } : {}),
    ...(traceId ? { traceId: traceId as string } : {}),
    ...(occurredAt ? { occurredAt: occurredAt as number } : {}),
    ...(headers ? { headers: headers as Record<string, string> } : {}),
  });
  const unknown = unknownField(fields, t.decode(event.payload), at(where, "data"));
  if (unknown) throw new EventInvalid(`${unknown} is not a field of ${t.name}`);
  return event;
}

export function batchFromJson(producer: Producer, body: unknown, maxBatch: number): Event[] {
  if (!isObject(body) || !Array.isArray(body.events))
    throw new BadRequest('body must be {"events": [ ... ]}');
  for (const k of Object.keys(body)) if (k !== "events") throw new BadRequest(`${k} is not a known field`);
  return checkBatchSize(body.events, maxBatch).map((e, i) => eventFromJson(producer, e, `events[${i}]`));
}

/** Checks a decoded envelope as strictly as a JSON one: registered type, key, id, and a payload that decodes. */
export function checkEnvelope(producer: Producer, e: realer.v1.Event, where = "event"): Event {
  const t = producer.typeOf(e.type);
  try {
    checkKey(e.key);
    if (e.id) checkId(e.id);
    if (e.traceId) checkTraceId(e.traceId);
  } catch (err) {
    throw new EventInvalid(`${where}: ${(err as Error).message}`);
  }
  checkHeaders(e.headers ?? {});
  try {
    t.decode(e.payload);
  } catch (err) {
    throw new EventDecode(`${where}: payload is not a valid ${t.name}: ${(err as Error).message}`);
  }
  // The payload bytes are kept as sent: they decoded, so the worker can read them.
  return createEvent({
    type: t.name,
    key: e.key,
    payload: e.payload,
    producer: e.producer || producer.name,
    id: e.id || undefined,
    traceId: e.traceId || undefined,
    occurredAt: Number(e.occurredAt) || undefined,
    headers: { ...e.headers },
  });
}

export function eventFromProtobuf(producer: Producer, body: Buffer): Event {
  let e: realer.v1.Event;
  try {
    e = realer.v1.Event.decode(body);
  } catch (err) {
    throw new EventDecode(`body is not a valid realer.v1.Event: ${(err as Error).message}`);
  }
  return checkEnvelope(producer, e);
}

export function batchFromProtobuf(producer: Producer, body: Buffer, maxBatch: number): Event[] {
  let b: realer.v1.EventBatch;
  try {
    b = realer.v1.EventBatch.decode(body);
  } catch (err) {
    throw new EventDecode(`body is not a valid realer.v1.EventBatch: ${(err as Error).message}`);
  }
  return checkBatchSize(b.events, maxBatch).map((e, i) =>
    checkEnvelope(producer, e as realer.v1.Event, `events[${i}]`),
  );
}

function checkBatchSize<T>(events: T[], maxBatch: number): T[] {
  if (events.length === 0) throw new BadRequest("events must not be empty");
  if (events.length > maxBatch)
    throw new BadRequest(`events has ${events.length} entries; at most ${maxBatch} are allowed`);
  return events;
}
