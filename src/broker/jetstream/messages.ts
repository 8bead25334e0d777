/**
 * JetStream's messages as realer's: stored messages, deliveries, republished
 * (live) messages and consumer counts.
 */
import type { ConsumerInfo, JsMsg } from "@nats-io/jetstream";
import type { Msg, MsgHdrs } from "@nats-io/transport-node";
import type { ConsumerState, Delivery, StoredMessage } from "../types.js";

/** The first value of each header, but those in `skip`. */
export function toRecord(h: MsgHdrs | undefined, skip?: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of h) {
    if (v[0] !== undefined && !skip?.has(k)) out[k] = v[0];
  }
  return out;
}

export function toStored(m: JsMsg): StoredMessage {
  return {
    subject: m.subject,
    seq: m.seq,
    data: m.data,
    headers: toRecord(m.headers),
    time: m.time.getTime(),
  };
}

/** Headers nats-server adds to a republished message. */
const REPUBLISH_HEADERS = new Set([
  "Nats-Stream",
  "Nats-Subject",
  "Nats-Sequence",
  "Nats-Last-Sequence",
  "Nats-Time-Stamp",
]);

/**
 * A message the stream republished (the edge's channel feed reads them): its subject and
 * sequence from the headers the server adds; its other headers, and its
 * time, read only when asked for (the edge reads neither).
 */
export class LiveMessage implements StoredMessage {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly #h: MsgHdrs;
  readonly #received = Date.now();

  constructor(m: Msg, h: MsgHdrs) {
    this.#h = h;
    this.subject = h.get("Nats-Subject");
    this.seq = Number(h.get("Nats-Sequence"));
    this.data = m.data;
  }

  get headers(): Record<string, string> {
    return toRecord(this.#h, REPUBLISH_HEADERS);
  }

  /** The sequence of the subject's message before this one; 0 when none, or when it was deleted. */
  get prevSeq(): number {
    return Number(this.#h.get("Nats-Last-Sequence")) || 0;
  }

  /** The store time when the server sends it (2.9.16 and later), else when it arrived here. */
  get time(): number {
    const t = Date.parse(this.#h.get("Nats-Time-Stamp"));
    return Number.isNaN(t) ? this.#received : t;
  }
}

/** `m` as a message `stream` republished, or undefined when another stream (or anything else) sent it. */
export function republishedBy(stream: string, m: Msg): LiveMessage | undefined {
  const h = m.headers;
  return h?.get("Nats-Stream") === stream ? new LiveMessage(m, h) : undefined;
}

/**
 * A claimed message. One object of one shape per delivery, its headers and
 * time read only when asked for (only dead letters need them): the pipeline
 * reads subject, seq, data and deliveryCount of every event.
 */
export class JsDelivery implements Delivery {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly deliveryCount: number;
  readonly #m: JsMsg;
  #headers: Record<string, string> | undefined;
  #settled = false;

  constructor(m: JsMsg) {
    this.#m = m;
    this.subject = m.subject;
    this.data = m.data;
    const info = m.info;
    this.seq = info.streamSequence;
    this.deliveryCount = info.deliveryCount;
  }

  get headers(): Record<string, string> {
    this.#headers ??= toRecord(this.#m.headers);
    return this.#headers;
  }

  get time(): number {
    return this.#m.time.getTime();
  }

  ack(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#m.ack();
  }

  nak(delayMs?: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#m.nak(delayMs && delayMs > 0 ? delayMs : undefined);
  }

  working(): void {
    if (!this.#settled) this.#m.working();
  }

  /** 2.9 servers ignore a term reason and redeliver: term() is called bare. */
  term(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#m.term();
  }
}

export function toConsumerState(stream: string, ci: ConsumerInfo): ConsumerState {
  return {
    stream,
    name: ci.name,
    pending: ci.num_pending,
    ackPending: ci.num_ack_pending,
    redelivered: ci.num_redelivered,
    ackFloor: ci.ack_floor.stream_seq,
  };
}
