/**
 * The hub: the edge's one reader of the channel stream and the owner of its
 * channel actors. It tails the stream in sequence order, encodes each message
 * into one SSE frame, keeps a ring of recent frames, and hands each frame to
 * the channel's local connections. Because every connection receives frames
 * in stream order, a single Last-Event-ID resumes all of its channels.
 */
import type { Broker, StoredMessage, Tail } from "../broker/types.js";
import { channelOfSubject, channelSubject } from "../events/channel.js";
import { decodeChannelMessage } from "../events/envelope.js";
import type { Logger } from "../log/logger.js";
import type { Connection } from "./connection.js";
import { controlFrame, HEARTBEAT, messageFrame } from "./sse-frame.js";
import type { Entry } from "./types.js";

export interface HubOptions {
  broker: Broker;
  /** The channel stream's name. */
  stream: string;
  /** The channel-stream subject prefix ("realer.ch"). */
  prefix: string;
  /** Frames kept for resumes that need no stream read. */
  ringSize: number;
  heartbeatMs: number;
  log: Logger;
}

export type ResumeOutcome = "live" | "ring" | "stream" | "reset";

/** A channel actor: the local connections of one channel. */
class ChannelActor {
  readonly conns = new Set<Connection>();
  deliver(e: Entry): void {
    for (const c of this.conns) c.deliver(e);
  }
}

export class Hub {
  readonly #o: HubOptions;
  readonly #channels = new Map<string, ChannelActor>();
  readonly #conns = new Set<Connection>();
  /** Recent frames, oldest first; covers sequences (ringFloor, position]. */
  readonly #ring: Entry[] = [];
  #ringFloor = 0;
  /** Sequence of the last message handed to the channel actors. */
  #position = 0;
  #tail: Tail | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(o: HubOptions) {
    this.#o = o;
  }

  get position(): number {
    return this.#position;
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** Local subscriber count of a channel. */
  subscribers(channel: string): number {
    return this.#channels.get(channel)?.conns.size ?? 0;
  }

  async start(): Promise<void> {
    const { lastSeq } = await this.#o.broker.streamState(this.#o.stream);
    this.#position = lastSeq;
    this.#ringFloor = lastSeq;
    this.#running = true;
    this.#loop = this.#run();
    this.#heartbeat = setInterval(() => {
      for (const c of this.#conns) c.write(HEARTBEAT);
    }, this.#o.heartbeatMs);
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#heartbeat);
    this.#tail?.stop();
    for (const c of [...this.#conns]) c.close();
    await this.#loop;
  }

  /**
   * Attaches a connection. With a cursor, everything of its channels after
   * the cursor is written first, in sequence order, then live frames.
   */
  async attach(conn: Connection, cursor: number | undefined): Promise<ResumeOutcome> {
    this.#conns.add(conn);
    for (const ch of conn.channels) {
      let actor = this.#channels.get(ch);
      if (!actor) this.#channels.set(ch, (actor = new ChannelActor()));
      actor.conns.add(conn);
    }
    if (cursor === undefined || cursor === this.#position) {
      conn.cursor = this.#position;
      return "live";
    }
    const wanted = new Set(conn.channels);
    if (cursor > this.#position) {
      // An id from another stream (recreated, or another deployment): start over.
      conn.write(controlFrame("reset", { channels: conn.channels, from: this.#position + 1, reason: "unknown-id" }));
      conn.cursor = this.#position;
      return "reset";
    }
    if (cursor >= this.#ringFloor) {
      for (const e of this.#ring) if (e.seq > cursor && wanted.has(e.channel)) conn.deliver(e);
      conn.cursor = this.#position;
      return "ring";
    }
    const upTo = this.#position;
    conn.beginResume();
    let outcome: ResumeOutcome = "stream";
    try {
      const { firstSeq } = await this.#o.broker.streamState(this.#o.stream);
      let from = cursor + 1;
      if (from < firstSeq) {
        conn.write(controlFrame("reset", { channels: conn.channels, from: firstSeq, reason: "history-gone" }));
        from = firstSeq;
        outcome = "reset";
      }
      const backlog = await this.#readBacklog(conn.channels, from, upTo);
      for (const e of backlog) conn.deliver(e);
      conn.cursor = Math.max(conn.cursor, upTo);
    } finally {
      conn.endResume();
    }
    return outcome;
  }

  detach(conn: Connection): void {
    this.#conns.delete(conn);
    for (const ch of conn.channels) {
      const actor = this.#channels.get(ch);
      if (!actor) continue;
      actor.conns.delete(conn);
      if (actor.conns.size === 0) this.#channels.delete(ch);
    }
  }

  async #readBacklog(channels: readonly string[], from: number, to: number): Promise<Entry[]> {
    const reads = channels.map(async (ch) => {
      const out: Entry[] = [];
      for await (const m of this.#o.broker.read(this.#o.stream, {
        subject: channelSubject(this.#o.prefix, ch),
        fromSeq: from,
        toSeq: to,
      })) {
        const e = this.#entry(m);
        if (e) out.push(e);
      }
      return out;
    });
    return (await Promise.all(reads)).flat().sort((a, b) => a.seq - b.seq);
  }

  #entry(m: StoredMessage): Entry | undefined {
    try {
      const cm = decodeChannelMessage(m.data);
      const channel = cm.channel || channelOfSubject(this.#o.prefix, m.subject);
      const data = `{"channel":${JSON.stringify(channel)},"event_id":${JSON.stringify(cm.eventId)},"data":${cm.data || "null"}}`;
      return { seq: m.seq, channel, frame: messageFrame(m.seq, cm.type || "message", data) };
    } catch (err) {
      this.#o.log.warn({ err, seq: m.seq }, "undecodable channel message skipped");
      return undefined;
    }
  }

  #dispatch(m: StoredMessage): void {
    if (m.seq <= this.#position) return;
    this.#position = m.seq;
    const e = this.#entry(m);
    if (!e) return;
    this.#ring.push(e);
    if (this.#ring.length > this.#o.ringSize) this.#ringFloor = this.#ring.shift()!.seq;
    this.#channels.get(e.channel)?.deliver(e);
  }

  /** Supervises the tail: if it ends while running, it restarts after the last dispatched message. */
  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      this.#tail = this.#o.broker.tail(this.#o.stream, { fromSeq: this.#position + 1 });
      try {
        for await (const m of this.#tail) {
          failures = 0;
          this.#dispatch(m);
        }
      } catch (err) {
        if (!this.#running) break;
        failures++;
        this.#o.log.warn({ err }, "channel stream tail failed; restarting");
        await new Promise((r) => setTimeout(r, Math.min(10_000, 100 * 2 ** Math.min(failures, 7))));
      }
    }
  }
}
