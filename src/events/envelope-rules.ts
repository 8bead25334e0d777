/**
 * What a valid event envelope is, said once. The producer SDK checks an event
 * against it before publishing, the HTTP ingest before storing, and the
 * worker's validate stage once more: an event written straight onto the
 * stream by another client skipped the first two.
 *
 * The id (the stream's dedupe id), the trace id and the headers travel as
 * message headers, so they follow the header grammar that NATS and HTTP
 * share: a name is printable ASCII without ':', a value has no control
 * character; `Nats-*` names steer the server (dedupe id, expected stream),
 * so they are reserved.
 */
import { EventInvalid, HeaderInvalid } from "../errors.js";

export const MAX_TYPE_LENGTH = 200;
export const MAX_KEY_LENGTH = 256;
export const MAX_ID_LENGTH = 128;
export const MAX_TRACE_ID_LENGTH = 64;

// Control characters: C0 and DEL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Text that becomes a header value (an event id, a trace id): why it may not, or undefined. */
export function valueProblem(value: string): string | undefined {
  return CONTROL.test(value) ? "it has a control character" : undefined;
}

/**
 * Why an event may not carry this header, or undefined: no empty name, a
 * name of printable ASCII (33-126) without ':', not a reserved `Nats-*`
 * name, and no control character in the value (tab included).
 */
export function headerProblem(name: string, value: string): string | undefined {
  if (name.length === 0) return "its name is empty";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58) return `its name has ${JSON.stringify(name[i])}`;
  }
  if (/[\r\n]/.test(value)) return "its value has CR or LF";
  if (/^nats-/i.test(name)) return "Nats-* names are reserved for the NATS server";
  if (CONTROL.test(value)) return "its value has a control character";
  return undefined;
}

export function checkType(type: unknown): asserts type is string {
  if (typeof type !== "string" || type.length === 0 || type.length > MAX_TYPE_LENGTH)
    throw new EventInvalid(`type must be 1-${MAX_TYPE_LENGTH} characters`);
}

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH)
    throw new EventInvalid(`key must be 1-${MAX_KEY_LENGTH} characters`);
}

export function checkId(id: unknown): asserts id is string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH)
    throw new EventInvalid(`id must be 1-${MAX_ID_LENGTH} characters`);
  const bad = valueProblem(id);
  if (bad) throw new EventInvalid(`id is refused: ${bad}`);
}

/** A trace id may be empty (none was given). */
export function checkTraceId(traceId: unknown): asserts traceId is string {
  if (typeof traceId !== "string" || traceId.length > MAX_TRACE_ID_LENGTH)
    throw new EventInvalid(`trace id must be at most ${MAX_TRACE_ID_LENGTH} characters`);
  const bad = valueProblem(traceId);
  if (bad) throw new EventInvalid(`trace id is refused: ${bad}`);
}

/** REALER_ERR_HEADER_INVALID for the first header an event may not carry (`headerProblem`). */
export function checkHeaders(headers: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== "string") throw new HeaderInvalid(JSON.stringify(name), "its value is not a string");
    const bad = headerProblem(name, value);
    if (bad) throw new HeaderInvalid(JSON.stringify(name), bad);
  }
}

/** The fields of an envelope the rules cover. */
export interface EnvelopeFields {
  type: string;
  key: string;
  /** Absent on an event not yet built: `createEvent` gives it a fresh one. */
  id?: string | undefined;
  traceId?: string | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * Throws what is wrong with an envelope: REALER_ERR_EVENT_INVALID for its
 * type, key, id or trace id, REALER_ERR_HEADER_INVALID for a header. An id
 * or trace id that is absent (undefined) is not checked; an empty id is.
 */
export function checkEnvelope(e: EnvelopeFields): void {
  checkType(e.type);
  checkKey(e.key);
  if (e.id !== undefined) checkId(e.id);
  if (e.traceId !== undefined) checkTraceId(e.traceId);
  if (e.headers !== undefined) checkHeaders(e.headers);
}
