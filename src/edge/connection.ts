/**
 * The connection actor: one per SSE connection, the only writer to its
 * socket. It owns a bounded outbound queue; what it may hold is fixed
 * whatever the client does:
 * - `pending`: frames waiting for the next write round (bounded in frames and
 *   in bytes, counting what the socket itself still holds);
 * - while resuming, a backlog (backlog.ts): a slice of the ring shared with
 *   other connections, or history read from the stream a chunk at a time,
 *   each once the socket has taken the one before; and a mailbox of live
 *   frames held until the backlog is written (bounded in frames).
 * Past a bound, or when the socket stays blocked too long, the client gets a
 * final `event: error` with its cursor and is closed: it resumes from there.
 */
import { ClientTooSlow, ResumeFailed, TokenExpired } from "../errors.js";
import { BacklogReader, type PagedBacklog } from "./backlog.js";
import { FrameQueue } from "./frame-queue.js";
import { controlFrame, drainFrame, HEARTBEAT } from "./sse-frame.js";
import type { CloseReason, ConnectionLimits, Entry, SseSink } from "./types.js";
import type { WriteScheduler } from "./write-scheduler.js";

export type { CloseReason, ConnectionLimits, SseSink } from "./types.js";

export interface ConnectionOptions {
  channels: readonly string[];
  /** Sequence the connection starts after: the client's Last-Event-ID, or the hub's position. */
  cursor: number;
  /** The client's Last-Event-ID as it sent it, if any. */
  startId?: string | undefined;
  limits: ConnectionLimits;
  scheduler: WriteScheduler;
  /** Formats a sequence as an SSE id. */
  idOf: (seq: number) => string;
  onClose: (c: Connection, reason: CloseReason) => void;
}

/** Backlog frames moved into one write, at most (bytes). */
const BACKLOG_CHUNK = 64 * 1024;
/** setTimeout's longest delay; later deadlines re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

let nextId = 1;

export class Connection {
  readonly id = nextId++;
  /** The write scheduler's: true while this connection waits for the next write round. */
  marked = false;
  readonly channels: readonly string[];
  /** Every message of the connection's channels up to this sequence is queued or written. */
  cursor: number;
  /**
   * What the client has been sent: the cursor as of the last write. Until the
   * cursor first moves it is the client's own Last-Event-ID (`#sentRaw`, kept
   * as given, so a retry after a failure repeats exactly what it asked for).
   */
  #sentSeq: number;
  #sentRaw: string | undefined;
  /** Frames waiting for the next write. */
  readonly #queue = new FrameQueue();
  #blockedSince = 0;
  /** Set by every write, cleared by the heartbeat tick: a stream written to since the last tick needs no heartbeat. */
  #wroteSinceTick = false;
  #backlog: BacklogReader | undefined;
  #mailbox: Entry[] | undefined;
  #closed = false;
  // Allocated only when used: thousands of idle connections each save the bytes.
  #timers: NodeJS.Timeout[] | undefined;
  #grace: NodeJS.Timeout | undefined;
  #sinkClosed = false;
  #goneWaiters: (() => void)[] | undefined;
  readonly #sink: SseSink;
  readonly #o: ConnectionOptions;

  constructor(sink: SseSink, o: ConnectionOptions) {
    this.#sink = sink;
    this.#o = o;
    this.channels = o.channels;
    this.cursor = o.cursor;
    this.#sentSeq = o.cursor;
    this.#sentRaw = o.startId;
    sink.once("close", () => this.#onSinkClose());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether live frames are held until a resume's backlog is written. */
  get resuming(): boolean {
    return this.#mailbox !== undefined;
  }

  /** Bytes this connection holds right now: its queue plus the socket's unsent bytes. */
  get queuedBytes(): number {
    return this.#queue.bytes + this.#sink.writableLength;
  }

  /** Resolves once the socket is closed. */
  gone(): Promise<void> {
    if (this.#sinkClosed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#goneWaiters ??= [];
      this.#goneWaiters.push(resolve);
    });
  }

  /** Holds live frames in the mailbox until `resumeWith` has written its backlog. */
  beginResume(): void {
    if (!this.#closed) this.#mailbox ??= [];
  }

  /**
   * Writes `backlog` (sorted by sequence, possibly shared with other
   * connections: it is never modified; or read a chunk at a time, each once
   * the socket has taken the one before), as fast as the socket takes it,
   * then the live frames held meanwhile. The cursor ends at least at `upTo`.
   */
  resumeWith(backlog: readonly Entry[] | PagedBacklog, upTo: number): void {
    if (this.#closed) {
      if (!Array.isArray(backlog)) (backlog as PagedBacklog).close();
      return;
    }
    this.#mailbox ??= [];
    this.#backlog?.close();
    this.#backlog = new BacklogReader(backlog, upTo);
    this.#o.scheduler.mark(this);
  }

  /** A message frame in stream order; frames at or below the cursor are skipped. */
  deliver(e: Entry): void {
    if (this.#closed || e.seq <= this.cursor) return;
    if (this.#mailbox) {
      if (this.#mailbox.length >= this.#o.limits.maxQueuedFrames)
        this.#slow("too many messages arrived during the resume");
      else this.#mailbox.push(e);
      return;
    }
    this.cursor = e.seq;
    this.#enqueue(e.frame);
  }

  /** A control frame (no id): queued in order with the message frames. */
  control(frame: Buffer): void {
    if (!this.#closed) this.#enqueue(frame);
  }

  /**
   * Called by the hub's one heartbeat timer, twice per heartbeat interval: a
   * stream that got nothing since the previous tick gets a heartbeat, so no
   * stream stays silent for longer than the interval, and busy streams get
   * none (a heartbeat for every connection at once is a burst of writes that
   * would delay the messages behind it).
   */
  heartbeat(now: number): void {
    if (this.#closed) return;
    if (this.#blockedSince !== 0) {
      if (now - this.#blockedSince > this.#o.limits.stallTimeoutMs) {
        this.#evict("stalled", "the client has not read for too long; reconnect to resume");
      }
      return;
    }
    if (this.#wroteSinceTick) {
      this.#wroteSinceTick = false;
      return;
    }
    if (this.#queue.count === 0 && !this.#backlog) this.#enqueue(HEARTBEAT);
  }

  /**
   * Closes the stream at `expiresAtMs` with `event: error` (REALER_ERR_TOKEN_EXPIRED),
   * after an `event: auth-expiring` notice `noticeMs` before.
   */
  expireAt(expiresAtMs: number, noticeMs: number): void {
    const notice = controlFrame("auth-expiring", {
      expires_at: new Date(expiresAtMs).toISOString(),
      channels: this.channels,
      message: "the subscribe token expires soon: reconnect with a fresh token",
    });
    if (expiresAtMs - noticeMs > Date.now()) this.#at(expiresAtMs - noticeMs, () => this.control(notice));
    else this.control(notice);
    this.#at(expiresAtMs, () => {
      const e = new TokenExpired();
      this.fail(e.code, "token-expired", e.message);
    });
  }

  /** Writes what is queued, in as few writes as possible, while the socket takes it. */
  flush(): void {
    while (!this.#closed && this.#blockedSince === 0) {
      if (this.#queue.count === 0 && !this.#refill()) return;
      const n = this.#queue.count;
      const q = this.#queue;
      const buf = q.many ? this.#o.scheduler.join(q.many, q.bytes) : q.one!;
      q.clear();
      if (this.cursor !== this.#sentSeq) {
        this.#sentSeq = this.cursor;
        this.#sentRaw = undefined;
      }
      const ok = this.#sink.write(buf);
      this.#wroteSinceTick = true;
      this.#o.scheduler.wrote(n, buf.length);
      if (!ok) {
        this.#blockedSince = Date.now();
        this.#sink.once("drain", this.#onDrain);
      }
    }
  }

  /**
   * A final `event: error` with the cursor the client has been sent, then
   * close. Whatever was still queued is dropped: the client resumes for it.
   */
  fail(code: string, reason: CloseReason, message: string): void {
    if (this.#closed) return;
    this.#closeWith(
      controlFrame("error", { code, reason, message, cursor: this.#sentId(this.#sentSeq) }),
      reason,
    );
  }

  /** Drops what is queued, writes `frame` as the last one, and closes. */
  #closeWith(frame: Buffer, reason: CloseReason): void {
    this.#drop();
    this.#sink.write(frame);
    this.#o.scheduler.wrote(1, frame.length);
    this.#finish(reason);
  }

  /**
   * Graceful end (the edge is shutting down): writes what is queued, then a
   * frame that sets the client's Last-Event-ID to its cursor and its
   * reconnect delay to `retryMs`, then closes. `position` is the hub's: a
   * connection that is not resuming has been given every frame up to it.
   */
  drain(retryMs: number, position: number): void {
    if (this.#closed) return;
    // Everything queued is written first, so the client then has up to `cursor`.
    const cursor = this.#mailbox ? this.cursor : Math.max(this.cursor, position);
    if (this.#mailbox) {
      this.#backlog?.close();
      this.#backlog = undefined;
      this.#mailbox = undefined;
    }
    const frames = [...this.#queue.frames(), drainFrame(this.#sentId(cursor), retryMs)];
    const buf = Buffer.concat(frames);
    this.#drop();
    this.#sink.write(buf);
    this.#o.scheduler.wrote(frames.length, buf.length);
    this.#finish("drain");
  }

  /**
   * Closes with a frame that sets the client's Last-Event-ID back to `seq`
   * and its reconnect delay to `retryMs`: the client resumes from there. For
   * a message that reached the edge after later ones were written (hub.ts):
   * what is queued is dropped, and the resume brings it all.
   */
  rewind(seq: number, retryMs: number): void {
    if (this.#closed) return;
    this.#closeWith(drainFrame(this.#o.idOf(seq), retryMs), "rewind");
  }

  #sentId(seq: number): string {
    return seq === this.#sentSeq && this.#sentRaw !== undefined ? this.#sentRaw : this.#o.idOf(seq);
  }

  readonly #onDrain = (): void => {
    this.#blockedSince = 0;
    if (!this.#closed && (this.#queue.count > 0 || this.#backlog)) this.#o.scheduler.mark(this);
  };

  #enqueue(frame: Buffer): void {
    this.#queue.push(frame);
    const { maxQueuedBytes, maxQueuedFrames } = this.#o.limits;
    if (
      this.#queue.count > maxQueuedFrames ||
      this.#queue.bytes + this.#sink.writableLength > maxQueuedBytes
    ) {
      this.#slow("the client reads too slowly; reconnect to resume");
      return;
    }
    if (this.#blockedSince === 0) this.#o.scheduler.mark(this);
  }

  /** Moves the next chunk of the backlog, or at its end the mailbox, into `pending`. */
  #refill(): boolean {
    const backlog = this.#backlog;
    if (!backlog) return false;
    let bytes = 0;
    for (let e = backlog.next(); e; e = bytes < BACKLOG_CHUNK ? backlog.next() : undefined) {
      if (e.seq <= this.cursor) continue;
      this.cursor = e.seq;
      const frame = e.frame;
      if (frame.length === 0) continue;
      this.#queue.push(frame);
      bytes += frame.length;
    }
    if (backlog.waiting) {
      // This chunk is written: the next is read once the socket has taken it.
      if (this.#queue.count === 0) backlog.fetch(BACKLOG_CHUNK, this.#backlogReady, this.#backlogFailed);
      return this.#queue.count > 0;
    }
    if (backlog.done) {
      this.#backlog = undefined;
      const held = this.#mailbox ?? [];
      this.#mailbox = undefined;
      this.cursor = Math.max(this.cursor, backlog.upTo);
      for (const e of held) {
        if (e.seq <= this.cursor) continue;
        this.cursor = e.seq;
        this.#queue.push(e.frame);
      }
    }
    return this.#queue.count > 0 || this.#backlog !== undefined;
  }

  readonly #backlogReady = (): void => {
    if (!this.#closed) this.#o.scheduler.mark(this);
  };

  readonly #backlogFailed = (): void => {
    if (!this.#closed) failResume(this);
  };

  #slow(message: string): void {
    this.#evict("slow", message);
  }

  #evict(reason: "slow" | "stalled", message: string): void {
    this.fail(new ClientTooSlow().code, reason, message);
  }

  #drop(): void {
    this.#queue.clear();
    this.#backlog?.close();
    this.#backlog = undefined;
    this.#mailbox = undefined;
  }

  #at(when: number, fn: () => void): void {
    const delay = when - Date.now();
    const t = setTimeout(
      () => {
        this.#timers = this.#timers?.filter((x) => x !== t);
        if (this.#closed) return;
        if (delay > MAX_TIMER_MS) this.#at(when, fn);
        else fn();
      },
      Math.max(0, Math.min(delay, MAX_TIMER_MS)),
    );
    t.unref();
    this.#timers ??= [];
    this.#timers.push(t);
  }

  #onSinkClose(): void {
    this.#sinkClosed = true;
    clearTimeout(this.#grace);
    this.#finish("client");
    for (const resolve of this.#goneWaiters ?? []) resolve();
    this.#goneWaiters = undefined;
  }

  #finish(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drop();
    for (const t of this.#timers ?? []) clearTimeout(t);
    this.#timers = undefined;
    if (reason !== "client") {
      this.#sink.end();
      // A client that never reads would keep the socket (and its buffer) forever.
      this.#grace = setTimeout(() => this.#sink.destroy(), this.#o.limits.closeGraceMs);
      this.#grace.unref();
    }
    this.#o.onClose(this, reason);
  }
}

/** In-band error for a failed resume (the client reconnects and tries again). */
export function failResume(c: Connection): void {
  const e = new ResumeFailed();
  c.fail(e.code, "resume-failed", e.message);
}
