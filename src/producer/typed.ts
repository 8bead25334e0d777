/**
 * Typed event types from the generated protobuf classes: the body's type is
 * the message's generated interface, so `emit` checks it at compile time.
 *
 *   export const CommentCreated = eventType<comments.v1.ICommentCreated>(comments.v1.CommentCreated);
 *   await producer.emit(CommentCreated, "thread:42", { comment: { id, threadId: "42", text } });
 */
import { type EventType, protoType } from "../events/registry.js";

type GeneratedMessage = Parameters<typeof protoType>[0];

export function eventType<T extends object>(cls: unknown): EventType<T> {
  return protoType(cls as GeneratedMessage) as unknown as EventType<T>;
}
