/**
 * Occupancy: how many connections subscribe to a channel, across every edge.
 * Each edge announces its own counts over the broker's signals (NATS core
 * pub/sub, nothing stored): the channels that changed, within a few ms of the
 * change, and all of its counts every `intervalMs` and whenever a new edge
 * says hello. Announcements carry absolute counts, so a lost one is healed
 * by the next; an edge that stops says goodbye, and one that dies is
 * forgotten after three silent intervals. A count is exact once the
 * announcements of a change have arrived (milliseconds on one NATS server).
 * Without signals (a broker that lacks them) counts are this edge's only.
 */
import { randomUUID } from "node:crypto";
import { type Broker, hasSignals, type Signals } from "../broker/types.js";
import type { Logger } from "../log/logger.js";

export interface OccupancyOptions {
  broker: Broker;
  /** Subject prefix; each edge sends on `<subject>.<edge id>`. */
  subject: string;
  intervalMs: number;
  log: Logger;
  /** This edge's count of one channel, and of every channel it serves. */
  local: (channel: string) => number;
  localAll: () => Iterable<[string, number]>;
}

interface Announcement {
  /** Sending edge. */
  e: string;
  /** Counts by channel: all of the edge's (`full`) or those that changed (0: none left). */
  c?: Record<string, number>;
  full?: boolean;
  hello?: boolean;
  bye?: boolean;
}

interface Peer {
  seen: number;
  counts: Map<string, number>;
}

/** Delay that gathers a burst of changes into one announcement, ms. */
const COALESCE_MS = 20;

export class Occupancy {
  readonly edgeId = randomUUID().slice(0, 8);
  readonly #o: OccupancyOptions;
  readonly #signals: Signals | undefined;
  readonly #peers = new Map<string, Peer>();
  readonly #dirty = new Set<string>();
  #listener: { stop(): void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(o: OccupancyOptions) {
    this.#o = o;
    this.#signals = hasSignals(o.broker) ? o.broker : undefined;
  }

  start(): void {
    const s = this.#signals;
    if (!s) return;
    this.#listener = s.listen(`${this.#o.subject}.>`, (_subject, data) => this.#receive(data));
    this.#send({ e: this.edgeId, hello: true, full: true, c: this.#all() });
    this.#timer = setInterval(() => {
      this.#send({ e: this.edgeId, full: true, c: this.#all() });
      this.#forgetSilent();
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#flushTimer);
    this.#send({ e: this.edgeId, bye: true });
    this.#listener?.stop();
    this.#listener = undefined;
  }

  /** Called by the hub whenever a channel's local count changes. */
  changed(channel: string): void {
    if (!this.#listener) return;
    this.#dirty.add(channel);
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      const c: Record<string, number> = {};
      for (const ch of this.#dirty) c[ch] = this.#o.local(ch);
      this.#dirty.clear();
      this.#send({ e: this.edgeId, c });
    }, COALESCE_MS);
    this.#flushTimer.unref();
  }

  /** Subscribers of `channel` on every edge heard from. */
  count(channel: string): number {
    this.#forgetSilent();
    let n = this.#o.local(channel);
    for (const p of this.#peers.values()) n += p.counts.get(channel) ?? 0;
    return n;
  }

  #all(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const [ch, n] of this.#o.localAll()) if (n > 0) c[ch] = n;
    return c;
  }

  #send(a: Announcement): void {
    try {
      this.#signals?.signal(`${this.#o.subject}.${this.edgeId}`, Buffer.from(JSON.stringify(a)));
    } catch (err) {
      this.#o.log.warn({ err }, "occupancy announcement failed");
    }
  }

  #receive(data: Uint8Array): void {
    let a: Announcement;
    try {
      a = JSON.parse(Buffer.from(data).toString("utf8")) as Announcement;
    } catch {
      return;
    }
    if (typeof a?.e !== "string" || a.e === this.edgeId) return;
    if (a.bye) {
      this.#peers.delete(a.e);
      return;
    }
    let p = this.#peers.get(a.e);
    if (!p) {
      p = { seen: 0, counts: new Map() };
      this.#peers.set(a.e, p);
    }
    p.seen = Date.now();
    if (a.full) p.counts.clear();
    for (const [ch, n] of Object.entries(a.c ?? {})) {
      if (typeof n === "number" && n > 0) p.counts.set(ch, n);
      else p.counts.delete(ch);
    }
    // A new edge knows nothing yet: tell it everything now rather than at the next interval.
    if (a.hello) this.#send({ e: this.edgeId, full: true, c: this.#all() });
  }

  #forgetSilent(): void {
    const cutoff = Date.now() - 3 * this.#o.intervalMs;
    for (const [id, p] of this.#peers) if (p.seen < cutoff) this.#peers.delete(id);
  }
}
