/**
 * The edge's connections: every open one, and per channel its local
 * subscribers. It counts, heartbeats and drains them; it reads nothing.
 */
import type { Connection } from "./connection.js";
import { ChannelSubscribers } from "./subscribers.js";

export class ConnectionRegistry {
  readonly #conns = new Set<Connection>();
  readonly #channels = new Map<string, ChannelSubscribers>();
  readonly #onCountChange: ((channel: string) => void) | undefined;

  constructor(onCountChange?: (channel: string) => void) {
    this.#onCountChange = onCountChange;
  }

  get size(): number {
    return this.#conns.size;
  }

  /** The channel's local subscribers, if it has any. */
  of(channel: string): ChannelSubscribers | undefined {
    return this.#channels.get(channel);
  }

  /** Local subscriber count of a channel. */
  subscribers(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }

  *channelCounts(): Iterable<[string, number]> {
    for (const [ch, s] of this.#channels) yield [ch, s.size];
  }

  /** Adds `conn`; returns the channels that had no local subscriber before. */
  add(conn: Connection): string[] {
    const fresh: string[] = [];
    this.#conns.add(conn);
    for (const ch of conn.channels) {
      let subs = this.#channels.get(ch);
      if (!subs) {
        subs = new ChannelSubscribers();
        this.#channels.set(ch, subs);
        fresh.push(ch);
      }
      subs.add(conn);
      this.#onCountChange?.(ch);
    }
    return fresh;
  }

  /** Removes `conn`; returns the channels left with no local subscriber (none when it was not here). */
  delete(conn: Connection): string[] {
    const empty: string[] = [];
    if (!this.#conns.delete(conn)) return empty;
    for (const ch of conn.channels) {
      const subs = this.#channels.get(ch);
      if (!subs) continue;
      subs.delete(conn);
      if (subs.size === 0) {
        this.#channels.delete(ch);
        empty.push(ch);
      }
      this.#onCountChange?.(ch);
    }
    return empty;
  }

  /** Every connection now (a copy). */
  all(): Connection[] {
    return [...this.#conns];
  }

  heartbeat(now: number): void {
    for (const c of this.#conns) c.heartbeat(now);
  }

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
}
