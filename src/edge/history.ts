/**
 * Channel history for resumes, read once however many connections need it:
 * concurrent resumes of one channel from one sequence share a single stream
 * read (single flight). A later resume whose range reaches further joins the
 * read in flight and takes the rest from the ring, when the ring still holds
 * it; otherwise it reads for itself.
 */
import type { Broker, StoredMessage } from "../broker/types.js";
import { channelSubject } from "../events/channel.js";
import { edgeMetrics } from "./metrics.js";
import type { Entry } from "./types.js";

export interface History {
  /** Decoded frames, oldest first. */
  entries: Entry[];
  /** Messages the stream returned for (from, readUpTo], decodable or not. */
  stored: number;
}

interface Flight {
  upTo: number;
  result: Promise<History>;
}

export class HistoryReader {
  readonly #flights = new Map<string, Flight>();
  readonly #broker: Broker;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #decode: (m: StoredMessage) => Entry | undefined;

  constructor(
    broker: Broker,
    stream: string,
    prefix: string,
    decode: (m: StoredMessage) => Entry | undefined,
  ) {
    this.#broker = broker;
    this.#stream = stream;
    this.#prefix = prefix;
    this.#decode = decode;
  }

  /** Reads in flight right now (tests and metrics). */
  get inFlight(): number {
    return this.#flights.size;
  }

  /**
   * The channel's messages with `from <= seq <= upTo`. `fromRing(after)`
   * returns the channel's ring entries in (after, upTo], or undefined when
   * the ring no longer reaches back to `after`.
   */
  read(
    channel: string,
    from: number,
    upTo: number,
    fromRing: (after: number) => Entry[] | undefined,
  ): Promise<History> {
    const key = `${channel}|${from}`;
    const flight = this.#flights.get(key);
    if (flight && flight.upTo <= upTo) {
      const rest = flight.upTo < upTo ? fromRing(flight.upTo) : [];
      if (rest) {
        return flight.result.then((h) =>
          rest.length ? { entries: [...h.entries, ...rest], stored: h.stored } : h,
        );
      }
    }
    const result = this.#read(channel, from, upTo);
    if (!flight) {
      this.#flights.set(key, { upTo, result });
      const done = () => {
        if (this.#flights.get(key)?.result === result) this.#flights.delete(key);
      };
      result.then(done, done);
    }
    return result;
  }

  async #read(channel: string, from: number, upTo: number): Promise<History> {
    edgeMetrics.historyReads.inc();
    const entries: Entry[] = [];
    let stored = 0;
    if (from > upTo) return { entries, stored };
    const subject = channelSubject(this.#prefix, channel);
    for await (const m of this.#broker.read(this.#stream, { subject, fromSeq: from, toSeq: upTo })) {
      stored++;
      const e = this.#decode(m);
      if (e) entries.push(e);
    }
    return { entries, stored };
  }
}
