/**
 * Framing: a stored channel message as the SSE frame every connection of its
 * channel is written, built once, on first use. Messages of channels nobody
 * on the edge reads again (they sit in the ring) are never decoded.
 */
import type { StoredMessage } from "../broker/types.js";
import { channelOfSubject } from "../events/channel.js";
import { decodeChannelMessage } from "../events/envelope.js";
import type { Logger } from "../log/logger.js";
import { messageFrame } from "./sse-frame.js";
import type { Entry } from "./types.js";

const EMPTY = Buffer.alloc(0);

type Build = (seq: number, channel: string, data: Uint8Array) => Buffer;

/**
 * A frame built on first use, then kept: the raw message is dropped once
 * framed. Every entry of the edge is of this one class, so the fan-out loop
 * sees one shape.
 */
class LazyFrame implements Entry {
  readonly seq: number;
  readonly channel: string;
  #data: Uint8Array | undefined;
  #frame: Buffer | undefined;
  readonly #build: Build;

  constructor(seq: number, channel: string, data: Uint8Array, build: Build) {
    this.seq = seq;
    this.channel = channel;
    this.#data = data;
    this.#build = build;
  }

  get frame(): Buffer {
    if (this.#frame === undefined) {
      this.#frame = this.#build(this.seq, this.channel, this.#data!);
      this.#data = undefined;
    }
    return this.#frame;
  }
}

export class Framer {
  readonly #prefix: string;
  readonly #idOf: (seq: number) => string;
  readonly #log: Logger;

  constructor(prefix: string, idOf: (seq: number) => string, log: Logger) {
    this.#prefix = prefix;
    this.#idOf = idOf;
    this.#log = log;
  }

  /** The entry of a stored message; its channel comes from the subject. */
  entry(m: StoredMessage): Entry {
    return new LazyFrame(m.seq, channelOfSubject(this.#prefix, m.subject), m.data, this.#build);
  }

  readonly #build: Build = (seq, subjectChannel, data) => {
    try {
      const cm = decodeChannelMessage(data);
      const channel = cm.channel || subjectChannel;
      // The trace id travels from the producer through the worker into the frame (docs/operations.md).
      const trace = cm.traceId ? `,"trace_id":${JSON.stringify(cm.traceId)}` : "";
      const body = `{"channel":${JSON.stringify(channel)},"event_id":${JSON.stringify(cm.eventId)}${trace},"data":${cm.data || "null"}}`;
      return messageFrame(this.#idOf(seq), cm.type || "message", body);
    } catch (err) {
      this.#log.warn({ err, seq }, "undecodable channel message skipped");
      return EMPTY;
    }
  };
}
