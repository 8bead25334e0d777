/**
 * Channel history for resumes, a page at a time: a resume never holds more
 * of a channel's history than one page, however long it is. Concurrent
 * requests for the same page share one stream read (single flight), so a
 * reconnect storm from one cursor reads each page once, and at most
 * `maxReads` reads run at once on the edge, so a storm of resumes from old
 * cursors is queued rather than let loose on the broker.
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

export class HistoryPages {
  readonly #flights = new Map<string, Promise<HistoryPage>>();
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
  ) {
    this.#broker = broker;
    this.#stream = stream;
    this.#prefix = prefix;
    this.#entry = entry;
    this.#maxReads = Math.max(1, maxReads);
  }

  /** Reads running or waiting right now (tests and metrics). */
  get inFlight(): number {
    return this.#flights.size;
  }

  /** The channel's messages with `after < seq <= upTo`, at most `size` of them. */
  page(channel: string, after: number, upTo: number, size: number): Promise<HistoryPage> {
    if (after >= upTo) return Promise.resolve({ entries: [], end: upTo, done: true });
    const key = `${channel}|${after}|${upTo}|${size}`;
    let flight = this.#flights.get(key);
    if (!flight) {
      flight = this.#read(channel, after, upTo, size);
      this.#flights.set(key, flight);
      const done = () => this.#flights.delete(key);
      flight.then(done, done);
    }
    return flight;
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
