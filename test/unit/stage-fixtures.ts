/** Jobs for stage tests: fake deliveries that record how they were settled, and comment events. */
import { randomUUID } from "node:crypto";
import type { Delivery } from "../../src/broker/types.js";
import { CommentCreated, registerComments } from "../../src/demo/comments.js";
import { codeOf } from "../../src/errors.js";
import { createEvent, type Event, encodeEvent } from "../../src/events/envelope.js";
import { EventRegistry } from "../../src/events/registry.js";
import type { Decoded, Job } from "../../src/pipeline/job.js";

export interface FakeDelivery extends Delivery {
  /** "ack", "term", "nak:<ms>" and "working", in call order. */
  calls: string[];
}

export function fakeDelivery(
  data: Uint8Array,
  seq = 1,
  deliveryCount = 1,
  headers: Record<string, string> = {},
): FakeDelivery {
  const calls: string[] = [];
  return {
    subject: "realer.events.comments.v1.CommentCreated",
    seq,
    data,
    headers,
    time: 0,
    deliveryCount,
    calls,
    ack: () => void calls.push("ack"),
    term: () => void calls.push("term"),
    nak: (ms = 0) => void calls.push(`nak:${ms}`),
    working: () => void calls.push("working"),
  };
}

export function commentEvent(thread: string, text: string, over: Partial<Event> = {}): Event {
  const payload = CommentCreated.encode({
    comment: { id: "c1", threadId: thread, author: "ann", text, createdAt: 1 },
  } as never);
  return Object.assign(
    createEvent({ id: randomUUID(), type: CommentCreated.name, key: `thread:${thread}`, payload }),
    over,
  );
}

export function domain() {
  const registry = new EventRegistry();
  const handlers = registerComments(registry);
  return { registry, handlers };
}

/** A job as it leaves decode. */
export function decodedJob(e: Event, seq = 1, deliveryCount = 1): Decoded {
  const { registry } = domain();
  return {
    delivery: fakeDelivery(encodeEvent(e), seq, deliveryCount),
    event: e,
    body: registry.get(e.type).decode(e.payload),
  };
}

/** What marble tests compare: "ok", "skip:<stage>" or "fail:<stage>:<code>:<disposition>". */
export function outcome(job: Job): string {
  if (job.failure)
    return `fail:${job.failure.stage}:${codeOf(job.failure.error) ?? job.failure.error.message}:${job.failure.disposition}`;
  if (job.skipped) return `skip:${job.skipped.stage}`;
  return "ok";
}
