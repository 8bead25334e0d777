/**
 * The hub: the edge's one reader of the channel stream, in front of its
 * connections. It reads the channels its clients watch through one feed
 * (channel-feed.ts: one broker subscription per channel), receives their
 * messages in sequence order, keeps a ring of recent frames, and hands each
 * frame to the channel's local connections. Because every connection
 * receives frames in stream order, one Last-Event-ID resumes all of its
 * channels (docs/edge.md).
 *
 * Its parts, one job each: the feed (reading), `ChannelInterest` (which
 * channels are read), `ConnectionRegistry` (who is connected to what),
 * `Framer` (frames), `Resumer` (resumes).
 */
import { type Broker, hasLiveSubjects, type StoredMessage } from "../broker/types.js";
import { BrokerUnavailable } from "../errors.js";
import { channelOfSubject } from "../events/channel.js";
import type { Logger } from "../log/logger.js";
import { ChannelFeed } from "./channel-feed.js";
import type { Connection } from "./connection.js";
import { type EventId, epochOf, formatId } from "./event-id.js";
import { Framer } from "./frames.js";
import { ChannelInterest } from "./interest.js";
import { edgeMetrics } from "./metrics.js";
import { ConnectionRegistry } from "./registry.js";
import { type ResumeOutcome, Resumer } from "./resume.js";
import { Ring } from "./ring.js";
import { controlFrame } from "./sse-frame.js";
import { WriteScheduler } from "./write-scheduler.js";

export type { ResumeOutcome } from "./resume.js";

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
  /** A connection's queue bound, bytes: a resume from the stream reads history in pages that fit it. */
  maxQueuedBytes?: number;
  heartbeatMs: number;
  log: Logger;
  /** Called whenever a channel's local subscriber count changes. */
  onCountChange?: (channel: string) => void;
  /** How long a channel with no local subscriber keeps its subscription, for clients that come back, ms. */
  unwatchAfterMs?: number;
  /** Most channels kept subscribed with no local subscriber; past it the oldest are dropped at once. */
  maxIdleChannels?: number;
  /** How often the feed verifies what it handed over against the stream, ms. */
  verifyMs?: number;
  /** How long a drain waits for that verification before it gives clients their cursors anyway, ms. */
  drainVerifyMs?: number;
}

interface Started {
  feed: ChannelFeed;
  interest: ChannelInterest;
  resumer: Resumer;
  heartbeat: NodeJS.Timeout;
}

export class Hub {
  readonly scheduler = new WriteScheduler();
  readonly #o: HubOptions;
  readonly #registry: ConnectionRegistry;
  readonly #framer: Framer;
  #ring: Ring;
  #epoch = "0";
  /** Sequence of the last message handed to the connections. */
  #dispatched = 0;
  #started: Started | undefined;
  #draining = false;

  constructor(o: HubOptions) {
    this.#o = o;
    this.#ring = new Ring(o.ringSize, 0);
    this.#registry = new ConnectionRegistry(o.onCountChange);
    this.#framer = new Framer(o.prefix, this.idOf, o.log);
  }

  /**
   * Every message of every channel this hub reads, up to this sequence, has
   * been handed to the connections, checked against the stream: a cursor a
   * client may carry to another edge (a drain frame) never passes it.
   */
  get position(): number {
    return this.#started ? this.#started.feed.verified : this.#dispatched;
  }

  /** Broker subscriptions the hub holds for channel messages: one per watched channel. */
  get subscriptions(): number {
    return this.#started?.feed.subscriptions ?? 0;
  }

  /** The channel stream's identity, the first part of every SSE id. */
  get epoch(): string {
    return this.#epoch;
  }

  get connections(): number {
    return this.#registry.size;
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
    return this.#registry.queueStats();
  }

  /** Local subscriber count of a channel. */
  subscribers(channel: string): number {
    return this.#registry.subscribers(channel);
  }

  channelCounts(): Iterable<[string, number]> {
    return this.#registry.channelCounts();
  }

  async start(): Promise<void> {
    const o = this.#o;
    const { lastSeq, created } = await o.broker.streamState(o.stream);
    const live = hasLiveSubjects(o.broker) ? await o.broker.liveSubjects(o.stream) : undefined;
    if (!live) throw new BrokerUnavailable(`stream ${o.stream} does not republish what it stores`);
    this.#epoch = epochOf(created);
    this.#dispatched = lastSeq;
    this.#ring = new Ring(o.ringSize, lastSeq);
    const feed = new ChannelFeed({
      source: live,
      position: lastSeq,
      onMessage: (m, late) => (late ? this.#late(m) : this.#dispatch(m)),
      onGone: (subject, after, next) => this.#gone(subject, after, next),
      onRepair: (reason) => edgeMetrics.tailRepaired.inc({ reason }),
      onError: (err) => o.log.warn({ err }, "channel subscriptions: a round failed; retrying"),
      maxMsgsPerSubject: o.maxMsgsPerChannel,
      ...(o.verifyMs !== undefined ? { syncMs: o.verifyMs } : {}),
    });
    const interest = new ChannelInterest({
      feed,
      prefix: o.prefix,
      unwatchAfterMs: o.unwatchAfterMs ?? 30_000,
      maxIdleChannels: o.maxIdleChannels ?? 10_000,
      watched: (ch) => this.#registry.subscribers(ch) > 0,
    });
    const resumer = new Resumer({
      broker: o.broker,
      stream: o.stream,
      prefix: o.prefix,
      maxMsgsPerChannel: o.maxMsgsPerChannel,
      maxQueuedBytes: o.maxQueuedBytes ?? 256 * 1024,
      interest,
      framer: this.#framer,
      ring: () => this.#ring,
      epoch: () => this.#epoch,
      dispatched: () => this.#dispatched,
      idOf: this.idOf,
    });
    // Two ticks per interval: a connection gets a heartbeat on a tick with nothing written since the last.
    const heartbeat = setInterval(
      () => this.#registry.heartbeat(Date.now()),
      Math.max(1, Math.floor(o.heartbeatMs / 2)),
    );
    this.#started = { feed, interest, resumer, heartbeat };
  }

  /**
   * Drains: no new connections; every client gets its cursor and a reconnect
   * delay spread over `spreadMs`, then its stream ends. The cursors are
   * verified first (bounded by `drainVerifyMs`): a message known or
   * suspected missing is read back before any cursor passes it. Resolves
   * when every socket has closed (a client that does not read is cut after
   * its grace).
   */
  async drain(spreadMs: number): Promise<void> {
    this.#draining = true;
    const feed = this.#started?.feed;
    if (feed) await withTimeout(feed.verify(), this.#o.drainVerifyMs ?? 5_000);
    const conns = this.#registry.all();
    const gone = conns.map((c) => c.gone());
    const position = this.position;
    for (const c of conns) c.drain(500 + Math.floor(Math.random() * spreadMs), position);
    await Promise.all(gone);
  }

  async stop(spreadMs = 0): Promise<void> {
    await this.drain(spreadMs);
    const s = this.#started;
    if (!s) return;
    clearInterval(s.heartbeat);
    s.interest.stop();
    s.feed.stop();
  }

  /**
   * Resolves once the hub reads every one of `channels` (interest.ts). The
   * edge opens a stream only then, so a client that sees its stream open
   * misses nothing published after.
   */
  async ready(channels: readonly string[]): Promise<void> {
    await this.#started?.interest.ready(channels);
  }

  /**
   * Attaches a connection and starts its stream after `cursor`: live frames
   * at once; with a cursor, everything of its channels after it first, from
   * the ring or the stream, merged in sequence order; with a cursor it
   * cannot honour, an `event: reset` saying from where it continues.
   */
  async attach(conn: Connection, cursor: EventId | undefined): Promise<ResumeOutcome> {
    const s = this.#started;
    if (!s) throw new BrokerUnavailable("the edge has not started");
    this.#add(conn);
    // Live frames wait in its mailbox while anything below is settled: a channel that is not
    // subscribed yet (the edge calls `ready` first, so rarely), or messages the feed is reading
    // back (a connection never starts past one known missing).
    if (s.feed.repairing || conn.channels.some((ch) => s.interest.sinceOf(ch) === undefined)) {
      conn.beginResume();
      await this.ready(conn.channels);
      await s.feed.settled();
    }
    const outcome = await s.resumer.resume(conn, cursor);
    edgeMetrics.resumes.inc({ outcome });
    return outcome;
  }

  detach(conn: Connection): void {
    for (const ch of this.#registry.delete(conn)) this.#started?.interest.idle(ch);
  }

  #add(conn: Connection): void {
    for (const ch of this.#registry.add(conn)) this.#started?.interest.active(ch);
  }

  #dispatch(m: StoredMessage): void {
    if (m.seq <= this.#dispatched) return;
    this.#dispatched = m.seq;
    const e = this.#framer.entry(m);
    this.#ring.push(e);
    this.#registry.of(e.channel)?.deliver(e);
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
    const e = this.#framer.entry(m);
    this.#started?.interest.late(e.channel, m.seq);
    const subs = this.#registry.of(e.channel);
    if (!subs || e.frame.length === 0) return;
    for (const c of subs.connections()) {
      if (c.resuming || c.cursor >= m.seq) c.rewind(m.seq - 1, 100 + Math.floor(Math.random() * 900));
      else c.deliver(e);
    }
    this.#o.log.warn(
      { seq: m.seq, channel: e.channel },
      "a channel message arrived late; its connections resume",
    );
  }

  /**
   * Messages of a channel the stream no longer has, found missing before
   * they reached this edge: its connections that have not passed them are
   * told in-band (`reset`, `history-gone`, with the id they continue from).
   */
  #gone(subject: string, after: number, next: number): void {
    const channel = channelOfSubject(this.#o.prefix, subject);
    edgeMetrics.tailRepaired.inc({ reason: "gone" });
    this.#started?.interest.gone(channel, after, next);
    const frame = controlFrame("reset", {
      channels: [channel],
      from: this.idOf(next),
      reason: "history-gone",
    });
    for (const c of this.#registry.of(channel)?.connections() ?? [])
      if (c.cursor < next - 1) c.control(frame);
    this.#o.log.warn({ channel, after, next }, "channel messages gone before they reached the edge");
  }
}

/** Resolves when `p` does or after `ms`, whichever comes first; never rejects. */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
