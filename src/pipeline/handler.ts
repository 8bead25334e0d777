/** What an application gives realer per event type: how its events become channel messages. */
import type { Event } from "../events/envelope.js";

/** What a handler renders for clients: the SSE event name and its JSON-ready data. */
export interface Rendered {
  type: string;
  data: unknown;
}

/** How one event type becomes channel messages. */
export interface Handler<B = Record<string, unknown>> {
  /** Channel templates, e.g. "thread:{comment.thread_id}"; fields of the body in braces. */
  routes: string[];
  /** Renders what clients show; pure. `context` holds what enrich stages added (empty without them). */
  format(body: B, event: Event, context: Readonly<Record<string, unknown>>): Rendered;
  /**
   * Rules beyond the protobuf schema, run by the validate stage: returns why the
   * body is invalid, or undefined when it is fine. An invalid event is dropped.
   */
  validate?(body: B, event: Event): string | undefined;
}

/** One channel message of an event. */
export interface Output {
  channel: string;
  type: string;
  /** JSON text, written into SSE frames as is. */
  data: string;
}
