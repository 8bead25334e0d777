/**
 * Channel interest: which channels the edge reads (one feed subscription
 * each), since when, and for how long after their last local subscriber
 * left. Also what the edge knows of each channel's record: from where the
 * ring holds all of it (a message that came late is not in the ring), and
 * which of its messages were found gone.
 */
import { channelSubject } from "../events/channel.js";
import type { ChannelFeed } from "./channel-feed.js";
import { edgeMetrics } from "./metrics.js";

export interface InterestOptions {
  feed: ChannelFeed;
  /** The channel-stream subject prefix ("realer.ch"). */
  prefix: string;
  /** How long a channel with no local subscriber keeps its subscription, for clients that come back, ms. */
  unwatchAfterMs: number;
  /** Most channels kept subscribed with no local subscriber; past it the oldest are dropped at once. */
  maxIdleChannels: number;
  /** Whether the channel has local subscribers now. */
  watched: (channel: string) => boolean;
}

export class ChannelInterest {
  readonly #o: InterestOptions;
  /** Subscribed channels with no local subscriber, and since when. */
  readonly #idle = new Map<string, number>();
  /** Per channel, the highest sequence that reached it late: the ring cannot resume it from below. */
  readonly #lateFloor = new Map<string, number>();
  /** Per channel, the newest run of messages found gone: (after, next). */
  readonly #gone = new Map<string, { after: number; next: number }>();
  readonly #sweep: NodeJS.Timeout;

  constructor(o: InterestOptions) {
    this.#o = o;
    this.#sweep = setInterval(
      () => this.#unwatchIdle(Date.now() - o.unwatchAfterMs),
      Math.max(50, Math.floor(o.unwatchAfterMs / 2)),
    );
    this.#sweep.unref();
  }

  stop(): void {
    clearInterval(this.#sweep);
  }

  /** Where `channel`'s subscription starts, once it is established; undefined before. */
  sinceOf(channel: string): number | undefined {
    return this.#o.feed.since(channelSubject(this.#o.prefix, channel));
  }

  /**
   * Resolves once the feed reads every one of `channels`, after the new ones
   * are subscribed (a round trip to the server): whatever the stream stores
   * afterwards reaches the edge. The edge opens a stream only then, so a
   * client that sees its stream open misses nothing published after.
   */
  async ready(channels: readonly string[]): Promise<void> {
    const feed = this.#o.feed;
    const waits: Promise<number>[] = [];
    for (const ch of channels) {
      if (this.sinceOf(ch) !== undefined) continue;
      // Subscribed for a client that is not attached yet: if it never comes, the sweep unsubscribes.
      if (!this.#o.watched(ch)) this.idle(ch);
      waits.push(feed.watch(channelSubject(this.#o.prefix, ch)));
    }
    if (waits.length > 0) {
      edgeMetrics.subscriptions.set(feed.subscriptions);
      await Promise.all(waits);
    }
  }

  /** `channel` has local subscribers again. */
  active(channel: string): void {
    this.#idle.delete(channel);
  }

  /**
   * Marks a watched channel as having no local subscriber from now. The
   * subscriptions kept for clients that may come back are bounded: a client
   * that opens streams on ever new channel names makes the oldest go at once.
   */
  idle(channel: string): void {
    this.#idle.delete(channel);
    this.#idle.set(channel, Date.now());
    const max = this.#o.maxIdleChannels;
    if (this.#idle.size > max) this.#unwatchIdle(Number.POSITIVE_INFINITY, this.#idle.size - max);
  }

  /** A message of `channel` at `seq` reached the edge late. */
  late(channel: string, seq: number): void {
    this.#lateFloor.set(channel, Math.max(this.#lateFloor.get(channel) ?? 0, seq));
  }

  /** The stream no longer has `channel`'s messages after `after` and before `next`. */
  gone(channel: string, after: number, next: number): void {
    this.#gone.set(channel, { after, next });
    this.late(channel, next - 1);
  }

  /** The first sequence after a gone run of `channel` that a resume after `cursor` would cross, if any. */
  goneAfter(channel: string, cursor: number, upTo: number): number | undefined {
    const g = this.#gone.get(channel);
    return g && cursor < g.next - 1 && g.after < upTo ? g.next : undefined;
  }

  /** The lowest cursor from which the ring can resume `channel` (it holds nothing of it from before). */
  ringCovers(channel: string): number {
    return Math.max(this.sinceOf(channel) ?? Number.POSITIVE_INFINITY, this.#lateFloor.get(channel) ?? 0);
  }

  /**
   * Unsubscribes the channels nobody here has watched since `before` (Unix
   * ms), oldest first, at most `limit` of them.
   */
  #unwatchIdle(before: number, limit = Number.POSITIVE_INFINITY): void {
    const feed = this.#o.feed;
    let dropped = 0;
    for (const [ch, since] of this.#idle) {
      if (dropped >= limit) break;
      // Oldest first: the rest are newer.
      if (since > before) break;
      // Still starting (a slow round): a client is waiting for it.
      if (this.sinceOf(ch) === undefined) continue;
      this.#idle.delete(ch);
      if (this.#o.watched(ch)) continue;
      feed.unwatch(channelSubject(this.#o.prefix, ch));
      this.#lateFloor.delete(ch);
      this.#gone.delete(ch);
      dropped++;
    }
    edgeMetrics.subscriptions.set(feed.subscriptions);
  }
}
