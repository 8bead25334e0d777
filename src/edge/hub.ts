/**
 * The hub: the edge's one reader of the channel stream and the owner of its
 * channel actors. It reads the channels its clients watch, one broker
 * subscription per channel (channel-feed.ts), or the whole stream with one
 * tail; either way it receives messages in sequence order. It frames each
 * message once, for every connection, keeps a ring of recent frames, and
 * hands each frame to the channel's local connections. Because every
 * connection receives frames in stream order, one Last-Event-ID resumes all
 * of its channels (docs/edge.md).
 */
import {
  type Broker,
  hasLiveSubjects,
  type StoredMessage,
  type StreamState,
  type Tail,
} from "../broker/types.js";
import { channelOfSubject, channelSubject } from "../events/channel.js";
import { decodeChannelMessage } from "../events/envelope.js";
import type { Logger } from "../log/logger.js";
import { ChannelFeed } from "./channel-feed.js";
import type { Connection } from "./connection.js";
import { type EventId, epochOf, formatId } from "./event-id.js";
import { HistoryReader } from "./history.js";
import { edgeMetrics } from "./metrics.js";
import { Ring } from "./ring.js";
import { controlFrame, messageFrame } from "./sse-frame.js";
import type { Entry } from "./types.js";
import { WriteScheduler } from "./write-scheduler.js";

export interface HubOptions {
  broker: Broker;
  /** The channel stream's name. */
  stream: string;
  /** The channel-stream subject prefix ("realer.ch"). */
  prefix: string;
  /** The stream's per-channel retention (`maxMsgsPerSubject`), to spot per-channel history loss. */
  maxMsgsPerChannel?: number | undefined;
  /** Frames kept for resumes that need no stream read. */
  ringSize: number;
  heartbeatMs: number;
  log: Logger;
  /** Called whenever a channel's local subscriber count changes. */
  onCountChange?: (channel: string) => void;
  /**
   * How the hub reads the channel stream. `channels` (the default, where the
   * broker can): one subscription per channel with local subscribers
   * (channel-feed.ts). `stream`: one tail of the whole stream.
   */
  feed?: "channels" | "stream";
  /** How long a channel with no local subscriber keeps its subscription, for clients that come back, ms. */
  unwatchAfterMs?: number;
  /** Most channels kept subscribed with no local subscriber; past it the oldest are dropped at once. */
  maxIdleChannels?: number;
}

export type ResumeOutcome = "live" | "ring" | "stream" | "reset";

/**
 * A channel actor: the local connections of one channel, in an array (the
 * fan-out loop walks it for every message) with each one's index, so a
 * connection leaves in constant time (the last one takes its place).
 */
export class ChannelActor {
  readonly #list: Connection[] = [];
  readonly #index = new Map<Connection, number>();

  get size(): number {
    return this.#list.length;
  }

  add(c: Connection): void {
    if (this.#index.has(c)) return;
    this.#index.set(c, this.#list.length);
    this.#list.push(c);
  }

  delete(c: Connection): void {
    const i = this.#index.get(c);
    if (i === undefined) return;
    this.#index.delete(c);
    const last = this.#list.pop()!;
    if (last !== c) {
      this.#list[i] = last;
      this.#index.set(last, i);
    }
  }

  /**
   * Hands `e` to every connection. A connection may leave during its own
   * delivery (a slow client is closed there): walking from the end, the one
   * that takes its place has been served already, so nobody is skipped.
   */
  deliver(e: Entry): void {
    if (e.frame.length === 0) return;
    const list = this.#list;
    for (let i = list.length - 1; i >= 0; i--) list[i]!.deliver(e);
  }

  /** The connections now (a copy: connections may leave while it is walked). */
  connections(): Connection[] {
    return [...this.#list];
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * An entry framed on first use, then kept: the raw message is dropped once
 * framed. Every entry of the hub is of this one class, so the fan-out loop
 * sees one shape.
 */
class LazyEntry implements Entry {
  readonly seq: number;
  readonly channel: string;
  #data: Uint8Array | undefined;
  #frame: Buffer | undefined;
  readonly #build: (seq: number, channel: string, data: Uint8Array) => Buffer;

  constructor(
    seq: number,
    channel: string,
    data: Uint8Array,
    build: (seq: number, channel: string, data: Uint8Array) => Buffer,
  ) {
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

export class Hub {
  readonly scheduler = new WriteScheduler();
  readonly #o: HubOptions;
  readonly #channels = new Map<string, ChannelActor>();
  readonly #conns = new Set<Connection>();
  readonly #history: HistoryReader;
  #ring: Ring;
  #epoch = "0";
  /** Sequence of the last message handed to the channel actors. */
  #position = 0;
  #tail: Tail | undefined;
  /** One subscription per watched channel, when the broker can (else the tail reads the whole stream). */
  #feed: ChannelFeed | undefined;
  /** Watched channels with no local subscriber, and since when. */
  readonly #idle = new Map<string, number>();
  /** Per channel, the highest sequence that reached it late: the ring cannot resume it from below. */
  readonly #lateFloor = new Map<string, number>();
  #sweep: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #running = false;
  #draining = false;
  #loop: Promise<void> | undefined;
  #state: Promise<StreamState> | undefined;

  constructor(o: HubOptions) {
    this.#o = o;
    this.#ring = new Ring(o.ringSize, 0);
    this.#history = new HistoryReader(o.broker, o.stream, o.prefix, (m) => this.#entry(m));
  }

  /** Every message of every channel this hub reads, up to this sequence, has been handed to the channel actors. */
  get position(): number {
    return this.#feed ? Math.max(this.#position, this.#feed.position) : this.#position;
  }

  /** Broker subscriptions the hub holds for channel messages: one per watched channel, or the one tail. */
  get subscriptions(): number {
    return this.#feed ? this.#feed.subscriptions : 1;
  }

  /** The channel stream's identity, the first part of every SSE id. */
  get epoch(): string {
    return this.#epoch;
  }

  get connections(): number {
    return this.#conns.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Whether the broker connection is up: while it is not, no live message reaches this edge. */
  get brokerConnected(): boolean {
    return this.#o.broker.connected;
  }

  /** Oldest sequence a ring resume can start after. */
  get ringFloor(): number {
    return this.#ring.floor;
  }

  idOf = (seq: number): string => formatId(this.#epoch, seq);

  /** What the connections hold in their queues (and sockets) right now, bytes. */
  queueStats(): { connections: number; maxQueuedBytes: number; totalQueuedBytes: number } {
    let max = 0;
    let total = 0;
    for (const c of this.#conns) {
      const q = c.queuedBytes;
      total += q;
      if (q > max) max = q;
    }
    return { connections: this.#conns.size, maxQueuedBytes: max, totalQueuedBytes: total };
  }

  /** Local subscriber count of a channel. */
  subscribers(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }

  *channelCounts(): Iterable<[string, number]> {
    for (const [ch, a] of this.#channels) yield [ch, a.size];
  }

  async start(): Promise<void> {
    const { lastSeq, created } = await this.#o.broker.streamState(this.#o.stream);
    this.#epoch = epochOf(created);
    this.#position = lastSeq;
    this.#ring = new Ring(this.#o.ringSize, lastSeq);
    this.#running = true;
    const broker = this.#o.broker;
    const live =
      this.#o.feed !== "stream" && hasLiveSubjects(broker)
        ? await broker.liveSubjects(this.#o.stream)
        : undefined;
    if (live) {
      this.#feed = new ChannelFeed({
        source: live,
        position: lastSeq,
        onMessage: (m, late) => (late ? this.#late(m) : this.#dispatch(m)),
        onRepair: (reason) => edgeMetrics.tailRepaired.inc({ reason }),
        onError: (err) => this.#o.log.warn({ err }, "channel subscriptions: a round failed; retrying"),
      });
      const after = this.#o.unwatchAfterMs ?? 30_000;
      this.#sweep = setInterval(
        () => this.#unwatchIdle(Date.now() - after),
        Math.max(50, Math.floor(after / 2)),
      );
    } else this.#loop = this.#run();
    // Two ticks per interval: a connection gets a heartbeat on a tick with nothing written since the last.
    this.#heartbeat = setInterval(
      () => {
        const now = Date.now();
        for (const c of this.#conns) c.heartbeat(now);
      },
      Math.max(1, Math.floor(this.#o.heartbeatMs / 2)),
    );
  }

  /**
   * Drains: no new connections; every client gets its cursor and a reconnect
   * delay spread over `spreadMs`, then its stream ends. Resolves when every
   * socket has closed (a client that does not read is cut after its grace).
   */
  async drain(spreadMs: number): Promise<void> {
    this.#draining = true;
    const conns = [...this.#conns];
    const gone = conns.map((c) => c.gone());
    for (const c of conns) c.drain(500 + Math.floor(Math.random() * spreadMs), this.position);
    await Promise.all(gone);
  }

  async stop(spreadMs = 0): Promise<void> {
    await this.drain(spreadMs);
    this.#running = false;
    clearInterval(this.#heartbeat);
    clearInterval(this.#sweep);
    this.#tail?.stop();
    this.#feed?.stop();
    await this.#loop;
  }

  /** Where `channel`'s subscription starts, once it is established; undefined before, or without subscriptions. */
  #sinceOf(channel: string): number | undefined {
    return this.#feed?.since(channelSubject(this.#o.prefix, channel));
  }

  /**
   * Resolves once the hub reads every one of `channels`: with one
   * subscription per channel, after the new ones are subscribed (a round
   * trip to the server); at once otherwise. Whatever the stream stores
   * afterwards reaches the hub. The edge opens a stream only then, so a
   * client that sees its stream open misses nothing published after.
   */
  async ready(channels: readonly string[]): Promise<void> {
    const feed = this.#feed;
    if (!feed) return;
    const waits: Promise<number>[] = [];
    for (const ch of channels) {
      if (this.#sinceOf(ch) !== undefined) continue;
      // Subscribed for a client that is not attached yet: if it never comes, the sweep unsubscribes.
      if (!this.#channels.has(ch)) this.#markIdle(ch);
      waits.push(feed.watch(channelSubject(this.#o.prefix, ch)));
    }
    if (waits.length > 0) {
      edgeMetrics.subscriptions.set(feed.subscriptions);
      await Promise.all(waits);
    }
  }

  /**
   * Marks a watched channel as having no local subscriber from now. The
   * subscriptions kept for clients that may come back are bounded: a client
   * that opens streams on ever new channel names makes the oldest go at once.
   */
  #markIdle(ch: string): void {
    this.#idle.delete(ch);
    this.#idle.set(ch, Date.now());
    const max = this.#o.maxIdleChannels ?? 10_000;
    if (this.#idle.size > max) this.#unwatchIdle(Number.POSITIVE_INFINITY, this.#idle.size - max);
  }

  /**
   * Unsubscribes the channels nobody here has watched since `before` (Unix
   * ms), oldest first, at most `limit` of them.
   */
  #unwatchIdle(before: number, limit = Number.POSITIVE_INFINITY): void {
    const feed = this.#feed;
    if (!feed) return;
    let dropped = 0;
    for (const [ch, since] of this.#idle) {
      if (dropped >= limit) break;
      // Oldest first: the rest are newer.
      if (since > before) break;
      // Still starting (a slow round): a client is waiting for it.
      if (this.#sinceOf(ch) === undefined) continue;
      this.#idle.delete(ch);
      if (this.#channels.has(ch)) continue;
      feed.unwatch(channelSubject(this.#o.prefix, ch));
      this.#lateFloor.delete(ch);
      dropped++;
    }
    edgeMetrics.subscriptions.set(feed.subscriptions);
  }

  /** The lowest cursor from which the ring can resume `channel` (it holds nothing of it from before). */
  #ringCovers(channel: string): number {
    if (!this.#feed) return 0;
    return Math.max(this.#sinceOf(channel) ?? Number.POSITIVE_INFINITY, this.#lateFloor.get(channel) ?? 0);
  }

  /** The sequence a connection on `channels` is complete up to once attached: the position, or later where a channel starts later. */
  #upTo(channels: readonly string[]): number {
    let upTo = this.position;
    for (const ch of channels) {
      const since = this.#sinceOf(ch);
      if (since !== undefined && since > upTo) upTo = since;
    }
    return upTo;
  }

  /**
   * Attaches a connection and starts its stream after `cursor`: live frames
   * at once; with a cursor, everything of its channels after it first, from
   * the ring or the stream, merged in sequence order; with a cursor it
   * cannot honour, an `event: reset` saying from where it continues.
   */
  async attach(conn: Connection, cursor: EventId | undefined): Promise<ResumeOutcome> {
    this.#add(conn);
    if (this.#feed && conn.channels.some((ch) => this.#sinceOf(ch) === undefined)) {
      // A channel is not subscribed yet (the edge calls `ready` first, so rarely): hold its frames meanwhile.
      conn.beginResume();
      await this.ready(conn.channels);
    }
    const outcome = await this.#resume(conn, cursor);
    edgeMetrics.resumes.inc({ outcome });
    return outcome;
  }

  detach(conn: Connection): void {
    if (!this.#conns.delete(conn)) return;
    for (const ch of conn.channels) {
      const actor = this.#channels.get(ch);
      if (!actor) continue;
      actor.delete(conn);
      if (actor.size === 0) {
        this.#channels.delete(ch);
        if (this.#feed) this.#markIdle(ch);
      }
      this.#o.onCountChange?.(ch);
    }
  }

  #add(conn: Connection): void {
    this.#conns.add(conn);
    for (const ch of conn.channels) {
      let actor = this.#channels.get(ch);
      if (!actor) {
        actor = new ChannelActor();
        this.#channels.set(ch, actor);
        this.#idle.delete(ch);
      }
      actor.add(conn);
      this.#o.onCountChange?.(ch);
    }
  }

  async #resume(conn: Connection, cursor: EventId | undefined): Promise<ResumeOutcome> {
    const upTo = this.#upTo(conn.channels);
    if (cursor && cursor.epoch !== undefined && cursor.epoch !== this.#epoch) {
      this.#reset(conn, conn.channels, upTo + 1, "epoch");
      conn.cursor = upTo;
      if (conn.resuming) conn.resumeWith([], upTo);
      return "reset";
    }
    if (!cursor || cursor.seq === upTo) {
      conn.cursor = upTo;
      if (conn.resuming) conn.resumeWith([], upTo);
      return "live";
    }
    const wanted = new Set(conn.channels);
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
    if (
      cursor.seq >= this.#ring.floor &&
      upTo === this.#position &&
      conn.channels.every((ch) => cursor.seq >= this.#ringCovers(ch))
    ) {
      conn.cursor = cursor.seq;
      conn.resumeWith(
        this.#ring.slice(cursor.seq, upTo, (ch) => wanted.has(ch)),
        upTo,
      );
      return "ring";
    }
    return this.#resumeFromStream(conn, cursor.seq, upTo);
  }

  async #resumeFromStream(conn: Connection, after: number, upTo: number): Promise<ResumeOutcome> {
    let outcome: ResumeOutcome = "stream";
    const { firstSeq } = await this.#streamState();
    let from = after + 1;
    if (from < firstSeq) {
      this.#reset(conn, conn.channels, firstSeq, "history-gone");
      from = firstSeq;
      outcome = "reset";
    }
    const histories = await Promise.all(
      conn.channels.map((ch) =>
        this.#history.read(ch, from, upTo, (afterSeq) =>
          afterSeq >= this.#ring.floor && afterSeq >= this.#ringCovers(ch) && upTo <= this.#position
            ? this.#ring.slice(afterSeq, upTo, (c) => c === ch)
            : undefined,
        ),
      ),
    );
    const cap = this.#o.maxMsgsPerChannel;
    const backlog: Entry[] = [];
    histories.forEach((h, i) => {
      // The stream keeps `cap` messages per channel: when all of them are after the
      // cursor, older ones of this channel may have been dropped in between.
      const first = h.entries[0];
      if (cap !== undefined && cap > 0 && h.stored >= cap && first && first.seq > from) {
        this.#reset(conn, [conn.channels[i]!], first.seq, "history-gone");
        outcome = "reset";
      }
      for (const e of h.entries) backlog.push(e);
    });
    if (histories.length > 1) backlog.sort((a, b) => a.seq - b.seq);
    conn.cursor = from - 1;
    conn.resumeWith(backlog, upTo);
    return outcome;
  }

  #reset(conn: Connection, channels: readonly string[], from: number, reason: string): void {
    conn.control(controlFrame("reset", { channels, from: this.idOf(from), reason }));
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

  /**
   * The entry of a stored message. Its channel comes from the subject; the
   * frame is built when first asked for (`LazyEntry`), so the messages of
   * channels nobody on this edge watches cost no decoding unless a resume
   * reads them from the ring.
   */
  #entry(m: StoredMessage): Entry {
    return new LazyEntry(m.seq, channelOfSubject(this.#o.prefix, m.subject), m.data, this.#frame);
  }

  readonly #frame = (seq: number, subjectChannel: string, data: Uint8Array): Buffer => {
    try {
      const cm = decodeChannelMessage(data);
      const channel = cm.channel || subjectChannel;
      // The trace id travels from the producer through the worker into the frame (docs/operations.md).
      const trace = cm.traceId ? `,"trace_id":${JSON.stringify(cm.traceId)}` : "";
      const body = `{"channel":${JSON.stringify(channel)},"event_id":${JSON.stringify(cm.eventId)}${trace},"data":${cm.data || "null"}}`;
      return messageFrame(this.idOf(seq), cm.type || "message", body);
    } catch (err) {
      this.#o.log.warn({ err, seq }, "undecodable channel message skipped");
      return EMPTY;
    }
  };

  #dispatch(m: StoredMessage): void {
    if (m.seq <= this.#position) return;
    this.#position = m.seq;
    const e = this.#entry(m);
    this.#ring.push(e);
    this.#channels.get(e.channel)?.deliver(e);
  }

  /**
   * A message found missing after later ones were handed over (channel-feed.ts).
   * A connection that has not passed it gets it now, still in order for that
   * connection; one that has is closed with a cursor just before it, and
   * resumes from there (it may see some messages twice, and misses none).
   * The ring skips it, so ring resumes of its channel from below it read the
   * stream instead.
   */
  #late(m: StoredMessage): void {
    edgeMetrics.tailRepaired.inc({ reason: "late" });
    const e = this.#entry(m);
    this.#lateFloor.set(e.channel, Math.max(this.#lateFloor.get(e.channel) ?? 0, m.seq));
    const actor = this.#channels.get(e.channel);
    if (!actor || e.frame.length === 0) return;
    for (const c of actor.connections()) {
      if (c.resuming || c.cursor >= m.seq) c.rewind(m.seq - 1, 100 + Math.floor(Math.random() * 900));
      else c.deliver(e);
    }
    this.#o.log.warn(
      { seq: m.seq, channel: e.channel },
      "a channel message arrived late; its connections resume",
    );
  }

  /** Supervises the tail: if it ends while running, it restarts after the last dispatched message. */
  async #run(): Promise<void> {
    let failures = 0;
    while (this.#running) {
      this.#tail = this.#o.broker.tail(this.#o.stream, {
        fromSeq: this.#position + 1,
        onRepair: (reason) => edgeMetrics.tailRepaired.inc({ reason }),
      });
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
