/**
 * The connection actor: one per SSE connection. It owns its socket and a
 * bounded outbound queue; nothing else writes to the socket. While it
 * resumes, live frames wait in its mailbox and are flushed in sequence order
 * once the backlog has been written.
 */
import type { ServerResponse } from "node:http";
import { controlFrame } from "./sse-frame.js";
import type { Entry } from "./types.js";

export interface ConnectionLimits {
  /** Bytes the socket may hold unsent before the client counts as too slow. */
  maxQueuedBytes: number;
  /** Live frames held while a resume is in progress. */
  maxMailbox: number;
}

let nextId = 1;

export class Connection {
  readonly id = nextId++;
  readonly channels: readonly string[];
  /** Sequence of the last message frame written. */
  cursor: number;
  #mailbox: Entry[] | undefined;
  #closed = false;
  readonly #res: ServerResponse;
  readonly #limits: ConnectionLimits;
  readonly #onClose: (c: Connection) => void;

  constructor(
    res: ServerResponse,
    channels: readonly string[],
    cursor: number,
    limits: ConnectionLimits,
    onClose: (c: Connection) => void,
  ) {
    this.#res = res;
    this.channels = channels;
    this.cursor = cursor;
    this.#limits = limits;
    this.#onClose = onClose;
    res.once("close", () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Holds live frames until `endResume()`: a backlog is being written first. */
  beginResume(): void {
    this.#mailbox = [];
  }

  endResume(): void {
    const held = this.#mailbox ?? [];
    this.#mailbox = undefined;
    for (const e of held) this.deliver(e);
  }

  /** A message frame in stream order; frames at or below the cursor are skipped. */
  deliver(e: Entry): void {
    if (this.#closed || e.seq <= this.cursor) return;
    if (this.#mailbox) {
      if (this.#mailbox.length >= this.#limits.maxMailbox) this.fail("slow", "too many messages held during resume");
      else this.#mailbox.push(e);
      return;
    }
    this.cursor = e.seq;
    this.write(e.frame);
  }

  write(buf: Buffer): void {
    if (this.#closed) return;
    this.#res.write(buf);
    if (this.#res.writableLength > this.#limits.maxQueuedBytes) {
      this.fail("slow", "the client reads too slowly; reconnect to resume");
    }
  }

  /** A final in-band error, then close: the client resumes from its cursor. */
  fail(code: string, message: string): void {
    if (this.#closed) return;
    this.#res.write(controlFrame("error", { code, message, cursor: this.cursor }));
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mailbox = undefined;
    this.#res.end();
    this.#onClose(this);
  }
}
