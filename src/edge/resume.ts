/**
 * Resumes: a connection that comes with a cursor gets every message of its
 * channels after it, from the ring when the ring holds all of them, else
 * from the stream, merged in sequence order, then live frames; a cursor it
 * cannot honour gets an `event: reset` saying from where it continues.
 */
import type { Broker, StreamState } from "../broker/types.js";
import { channelSubject } from "../events/channel.js";
import { pageSize, StreamBacklog } from "./backlog.js";
import type { Connection } from "./connection.js";
import type { EventId } from "./event-id.js";
import type { Framer } from "./frames.js";
import { HistoryPages } from "./history.js";
import type { ChannelInterest } from "./interest.js";
import type { Ring } from "./ring.js";
import { controlFrame } from "./sse-frame.js";

export type ResumeOutcome = "live" | "ring" | "stream" | "reset";

export interface ResumerOptions {
  broker: Broker;
  /** The channel stream's name. */
  stream: string;
  /** The channel-stream subject prefix ("realer.ch"). */
  prefix: string;
  /** The stream's per-channel retention (`maxMsgsPerSubject`), to spot per-channel history loss. */
  maxMsgsPerChannel?: number | undefined;
  /** A connection's queue bound: what a resume from the stream holds at most, in pages of history. */
  maxQueuedBytes: number;
  /** Stream reads for resumes running at once on this edge; more wait their turn. */
  maxHistoryReads?: number;
  interest: ChannelInterest;
  framer: Framer;
  /** The ring of recent frames (replaced when the hub starts). */
  ring: () => Ring;
  /** The stream's identity, the first part of every SSE id. */
  epoch: () => string;
  /** The sequence of the newest message handed to the connections. */
  dispatched: () => number;
  idOf: (seq: number) => string;
}

export class Resumer {
  readonly #o: ResumerOptions;
  readonly #pages: HistoryPages;
  #state: Promise<StreamState> | undefined;

  constructor(o: ResumerOptions) {
    this.#o = o;
    this.#pages = new HistoryPages(o.broker, o.stream, o.prefix, (m) => o.framer.entry(m), o.maxHistoryReads);
  }

  /** The sequence a connection on `channels` is complete up to once attached: the position, or later where a channel starts later. */
  upTo(channels: readonly string[]): number {
    let upTo = this.#o.dispatched();
    for (const ch of channels) {
      const since = this.#o.interest.sinceOf(ch);
      if (since !== undefined && since > upTo) upTo = since;
    }
    return upTo;
  }

  /** Starts `conn`'s stream after `cursor` (attached already: live frames wait in its mailbox meanwhile). */
  async resume(conn: Connection, cursor: EventId | undefined): Promise<ResumeOutcome> {
    const o = this.#o;
    const upTo = this.upTo(conn.channels);
    if (cursor && cursor.epoch !== undefined && cursor.epoch !== o.epoch()) {
      // An id of another stream (deleted and created again, or the embedded broker restarted):
      // everything this stream still keeps is new to the client.
      conn.beginResume();
      const { firstSeq } = await this.#streamState();
      this.#reset(conn, conn.channels, firstSeq, "epoch");
      await this.#after(conn, firstSeq - 1, upTo);
      return "reset";
    }
    if (!cursor || cursor.seq === upTo) {
      conn.cursor = upTo;
      if (conn.resuming) conn.resumeWith([], upTo);
      return "live";
    }
    conn.beginResume();
    if (cursor.seq > upTo) {
      // Another edge may be ahead of this one: wait for it, unless the stream never reached that far.
      const { lastSeq } = await this.#streamState();
      if (cursor.seq <= lastSeq) {
        conn.cursor = cursor.seq;
        conn.resumeWith([], cursor.seq);
        return "live";
      }
      this.#reset(conn, conn.channels, upTo + 1, "unknown-id");
      conn.cursor = upTo;
      conn.resumeWith([], upTo);
      return "reset";
    }
    return this.#after(conn, cursor.seq, upTo);
  }

  /** Everything of `conn`'s channels after `after`, from the ring when it holds all of it, else from the stream. */
  #after(conn: Connection, after: number, upTo: number): Promise<ResumeOutcome> {
    const o = this.#o;
    const ring = o.ring();
    if (
      after >= ring.floor &&
      upTo === o.dispatched() &&
      conn.channels.every((ch) => after >= o.interest.ringCovers(ch))
    ) {
      const wanted = new Set(conn.channels);
      conn.cursor = after;
      conn.resumeWith(
        ring.slice(after, upTo, (ch) => wanted.has(ch)),
        upTo,
      );
      return Promise.resolve("ring");
    }
    return this.#fromStream(conn, after, upTo);
  }

  async #fromStream(conn: Connection, after: number, upTo: number): Promise<ResumeOutcome> {
    const o = this.#o;
    let outcome: ResumeOutcome = "stream";
    const { firstSeq } = await this.#streamState();
    let from = after + 1;
    if (from < firstSeq) {
      this.#reset(conn, conn.channels, firstSeq, "history-gone");
      from = firstSeq;
      outcome = "reset";
    }
    const cap = o.maxMsgsPerChannel;
    const trimmed = await Promise.all(
      conn.channels.map((ch) =>
        cap !== undefined && cap > 0 ? this.#trimmedFrom(ch, from, upTo, cap) : undefined,
      ),
    );
    conn.channels.forEach((ch, i) => {
      const next = trimmed[i] ?? o.interest.goneAfter(ch, from - 1, upTo);
      if (next !== undefined) {
        this.#reset(conn, [ch], next, "history-gone");
        outcome = "reset";
      }
    });
    conn.cursor = from - 1;
    const size = pageSize(conn.channels.length, o.maxQueuedBytes);
    conn.resumeWith(new StreamBacklog(this.#pages, conn.channels, from - 1, upTo, size), upTo);
    return outcome;
  }

  /**
   * The stream keeps `cap` messages per channel: when it holds that many of
   * `channel`, all from `from` on, older ones may have been dropped in
   * between. Then the sequence the channel continues from.
   */
  async #trimmedFrom(channel: string, from: number, upTo: number, cap: number): Promise<number | undefined> {
    const s = await this.#o.broker.subjectState(this.#o.stream, channelSubject(this.#o.prefix, channel));
    return s.messages >= cap && s.firstSeq > from && s.firstSeq <= upTo ? s.firstSeq : undefined;
  }

  #reset(conn: Connection, channels: readonly string[], from: number, reason: string): void {
    conn.control(controlFrame("reset", { channels, from: this.#o.idOf(from), reason }));
  }

  /** One stream-state request shared by every resume that needs it at the same time. */
  #streamState(): Promise<StreamState> {
    if (!this.#state) {
      this.#state = this.#o.broker.streamState(this.#o.stream);
      const clear = () => {
        this.#state = undefined;
      };
      this.#state.then(clear, clear);
    }
    return this.#state;
  }
}
