/**
 * An event-stream parser that follows the HTML standard's rules
 * ("Interpreting an event stream"): lines end with CRLF, LF or CR; `:` starts
 * a comment; `data`, `event`, `id` and `retry` fields; an event is
 * dispatched at a blank line, and one without data is not fired. Like
 * EventSource, the last event id is updated at every dispatch from the id
 * buffer, which persists across events, so frames without an id (realer's
 * `reset` and `error`) leave it alone.
 *
 * It decodes only what a load test needs: the event type, the id, the
 * retry delay, and the markers in the data (marker.ts). Bytes arrive in
 * pieces cut anywhere.
 */
import { scanMarkers } from "./marker.js";

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;

/** Called for every fired event: its type ("message" when none was given) and its markers, four numbers each (marker.ts). */
export type SseEventHandler = (type: string, markers: readonly number[], count: number) => void;

const is = (buf: Buffer, s: number, e: number, name: string): boolean => {
  if (e - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (buf[s + i] !== name.charCodeAt(i)) return false;
  return true;
};

export class SseParser {
  /** The id EventSource would send as Last-Event-ID on its next connection. */
  lastEventId: string;
  /** The reconnection time the stream last set, ms, if it did. */
  retryMs: number | undefined;
  readonly #onEvent: SseEventHandler;
  #idBuffer: string;
  #type = "";
  #hasData = false;
  readonly #markers: number[] = [];
  #count = 0;
  /** Bytes of a line not finished in the last piece. */
  #partial: Buffer | undefined;
  /** The last piece ended with CR: a LF that starts the next one belongs to that line end. */
  #skipLf = false;
  #start = true;

  constructor(onEvent: SseEventHandler, lastEventId = "") {
    this.#onEvent = onEvent;
    this.lastEventId = lastEventId;
    this.#idBuffer = lastEventId;
  }

  /** Starts a new stream (a reconnection): what was half read is dropped, the last event id is kept. */
  restart(): void {
    this.#idBuffer = this.lastEventId;
    this.#type = "";
    this.#hasData = false;
    this.#markers.length = 0;
    this.#count = 0;
    this.#partial = undefined;
    this.#skipLf = false;
    this.#start = true;
  }

  feed(chunk: Buffer): void {
    if (chunk.length === 0) return;
    let buf = chunk;
    let i = 0;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (buf[0] === LF) i = 1;
    }
    let lineStart = i;
    if (this.#partial) {
      buf = Buffer.concat([this.#partial, buf.subarray(i)]);
      i = this.#partial.length;
      lineStart = 0;
      this.#partial = undefined;
    }
    if (this.#start && buf.length >= lineStart + 3) {
      this.#start = false;
      // A UTF-8 byte order mark at the very start of the stream is ignored.
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        lineStart = 3;
        if (i < 3) i = 3;
      }
    }
    const n = buf.length;
    while (i < n) {
      const c = buf[i]!;
      if (c !== LF && c !== CR) {
        i++;
        continue;
      }
      this.#line(buf, lineStart, i);
      if (c === CR) {
        if (i + 1 < n) {
          if (buf[i + 1] === LF) i++;
        } else {
          this.#skipLf = true;
        }
      }
      i++;
      lineStart = i;
    }
    if (lineStart < n) this.#partial = Buffer.from(buf.subarray(lineStart));
  }

  #line(buf: Buffer, s: number, e: number): void {
    if (s === e) {
      this.#dispatch();
      return;
    }
    if (buf[s] === COLON) return;
    let colon = s;
    while (colon < e && buf[colon] !== COLON) colon++;
    let v = colon < e ? colon + 1 : e;
    if (v < e && buf[v] === SPACE) v++;
    if (is(buf, s, colon, "data")) {
      this.#hasData = true;
      this.#count += scanMarkers(buf, v, e, this.#markers);
    } else if (is(buf, s, colon, "event")) {
      this.#type = buf.toString("utf8", v, e);
    } else if (is(buf, s, colon, "id")) {
      const nul = buf.indexOf(0, v);
      if (nul < 0 || nul >= e) this.#idBuffer = buf.toString("utf8", v, e);
    } else if (is(buf, s, colon, "retry")) {
      let ms = 0;
      for (let k = v; k < e; k++) {
        const d = buf[k]! - 0x30;
        if (d < 0 || d > 9) return;
        ms = ms * 10 + d;
      }
      if (e > v) this.retryMs = ms;
    }
  }

  #dispatch(): void {
    this.lastEventId = this.#idBuffer;
    if (this.#hasData) this.#onEvent(this.#type || "message", this.#markers, this.#count);
    this.#type = "";
    this.#hasData = false;
    this.#markers.length = 0;
    this.#count = 0;
  }
}
