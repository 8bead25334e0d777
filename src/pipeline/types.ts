import type { Delivery } from "../broker/types.js";
import type { Disposition } from "../errors.js";
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
  /** Renders what clients show; pure. */
  format(body: B, event: Event): Rendered;
}

export interface Output {
  channel: string;
  type: string;
  /** JSON text, written into SSE frames as is. */
  data: string;
}

export interface Failure {
  stage: string;
  error: Error;
  disposition: Disposition;
}

/**
 * One event on its way through the pipeline. Stages return a new Job; a
 * failed job flows on untouched to `settle`, which alone acks, naks or terms.
 */
export interface Job {
  readonly delivery: Delivery;
  readonly event?: Event;
  readonly body?: Record<string, unknown>;
  readonly channels?: string[];
  readonly rendered?: Rendered;
  readonly outputs?: Output[];
  readonly failure?: Failure;
}
