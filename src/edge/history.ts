/**
 * Channel history for resumes, a page at a time: a resume never holds more
 * of a channel's history than one page, however long it is. Requests for
 * the same page share one stream read: while it runs (single flight) and
 * for a few seconds after (the last `keepPages` pages), so a reconnect
 * storm from one cursor reads each page once. At most `maxReads` reads run
 * at once on the edge, so a storm of resumes from old cursors is queued
 * rather than let loose on the broker.
 */
import type { Broker, StoredMessage } from "../broker/types.js";
import { channelSubject } from "../events/channel.js";
import { edgeMetrics } from "./metrics.js";
import type { Entry } from "./types.js";

export interface HistoryPage {
  /** Frames, oldest first (messages that cannot be framed are left out). */
  entries: Entry[];
  /** The sequence the next page starts after. */
  end: number;
  /** No more of the channel up to the requested end. */
  done: boolean;
}

/** How long a page read is reused for requests that come after it ended, ms. */
const KEEP_MS = 5_000;

export class HistoryPages {
  /** Pages read or being read, oldest first. */
  readonly #flights = new Map<string, { page: Promise<HistoryPage>; done: number }>();
  readonly #keepPages: number;
  readonly #broker: Broker;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #entry: (m: StoredMessage) => Entry;
  readonly #maxReads: number;
  #reading = 0;
  readonly #queue: (() => void)[] = [];

  constructor(
    broker: Broker,
    stream: string,
    prefix: string,
    entry: (m: StoredMessage) => Entry,
    maxReads = 32,
    keepPages = 128,
  ) {
    this.#keepPages = keepPages;
    this.#broker = broker;
    this.#stream = stream;
    this.#prefix = prefix;
    this.#entry = entry;
    this.#maxReads = Math.max(1, maxReads);
  }

  /** Reads running or waiting right now (tests and metrics). */
  get inFlight(): number {
    let n = 0;
    for (const f of this.#flights.values()) if (f.done === 0) n++;
    return n;
  }

  /** The channel's messages with `after < seq <= upTo`, at most `size` of them. */
  page(channel: string, after: number, upTo: number, size: number): Promise<HistoryPage> {
    if (after >= upTo) return Promise.resolve({ entries: [], end: upTo, done: true });
    const key = `${channel}|${after}|${upTo}|${size}`;
    const now = Date.now();
    const kept = this.#flights.get(key);
    if (kept && (kept.done === 0 || now - kept.done < KEEP_MS)) return kept.page;
    this.#flights.delete(key);
    const flight = { page: this.#read(channel, after, upTo, size), done: 0 };
    this.#flights.set(key, flight);
    const settle = (ok: boolean) => {
      if (!ok) this.#flights.delete(key);
      else flight.done = Date.now();
      // Oldest first: drop ended reads beyond the few kept.
      let over = this.#flights.size - this.#keepPages;
      for (const [k, f] of this.#flights) {
        if (over <= 0) break;
        if (f.done === 0) continue;
        this.#flights.delete(k);
        over--;
      }
    };
    flight.page.then(
      () => settle(true),
      () => settle(false),
    );
    return flight.page;
  }

  async #read(channel: string, after: number, upTo: number, size: number): Promise<HistoryPage> {
    await this.#acquire();
    try {
      edgeMetrics.historyReads.inc();
      const entries: Entry[] = [];
      let read = 0;
      let end = after;
      const subject = channelSubject(this.#prefix, channel);
      const opts = { subject, fromSeq: after + 1, toSeq: upTo, max: size };
      for await (const m of this.#broker.read(this.#stream, opts)) {
        read++;
        end = m.seq;
        entries.push(this.#entry(m));
      }
      const done = read < size || end >= upTo;
      return { entries, end: done ? upTo : end, done };
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#reading < this.#maxReads) {
      this.#reading++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#reading--;
  }
}
