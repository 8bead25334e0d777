import { randomUUID } from "node:crypto";
import { realer } from "./proto.js";

export type Event = realer.v1.Event;
export type ChannelMessage = realer.v1.ChannelMessage;
export const Event = realer.v1.Event;
export const ChannelMessage = realer.v1.ChannelMessage;

export interface NewEvent {
  type: string;
  key: string;
  payload: Uint8Array;
  id?: string;
  producer?: string;
  traceId?: string;
  headers?: Record<string, string>;
  occurredAt?: number;
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

export function encodeEvent(e: Event): Uint8Array {
  return Event.encode(e).finish();
}

export function decodeEvent(bytes: Uint8Array): Event {
  return Event.decode(bytes);
}

export function encodeChannelMessage(m: realer.v1.ChannelMessage.$Properties): Uint8Array {
  return ChannelMessage.encode(m).finish();
}

export function decodeChannelMessage(bytes: Uint8Array): ChannelMessage {
  return ChannelMessage.decode(bytes);
}
