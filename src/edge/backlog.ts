/**
 * A resume's backlog read from the stream: the messages of a connection's
 * channels after its cursor, merged in sequence order, handed to the
 * connection a chunk at a time as its socket takes them. It holds one page
 * per channel at most (history.ts), so what a resuming connection holds is
 * bounded whatever its channel count and history length.
 */
import type { HistoryPages } from "./history.js";
import type { Entry } from "./types.js";

/** Entries that come a chunk at a time, each once the connection asks for it. */
export interface PagedBacklog {
  /** The next entries in sequence order, about `maxBytes` of frames; empty once the backlog is done. */
  next(maxBytes: number): Promise<readonly Entry[]>;
  /** Nothing more will be asked. */
  close(): void;
}

interface Cursor {
  channel: string;
  entries: readonly Entry[];
  at: number;
  /** Where the next page starts after. */
  after: number;
  done: boolean;
}

/**
 * Messages in a page of each channel's history, so that one page of every
 * channel comes to about half of `maxQueuedBytes` for messages of 1 KB (at
 * least 4 and at most 64 a page): a resume holds its pages plus at most one
 * chunk of frames in its queue.
 */
export function pageSize(channels: number, maxQueuedBytes: number): number {
  return Math.min(64, Math.max(4, Math.floor(maxQueuedBytes / 2 / Math.max(1, channels) / 1024)));
}

export class StreamBacklog implements PagedBacklog {
  readonly #pages: HistoryPages;
  readonly #cursors: Cursor[];
  readonly #upTo: number;
  readonly #size: number;
  #closed = false;

  constructor(pages: HistoryPages, channels: readonly string[], after: number, upTo: number, size: number) {
    this.#pages = pages;
    this.#upTo = upTo;
    this.#size = size;
    this.#cursors = channels.map((channel) => ({ channel, entries: [], at: 0, after, done: after >= upTo }));
  }

  async next(maxBytes: number): Promise<readonly Entry[]> {
    const out: Entry[] = [];
    let bytes = 0;
    while (!this.#closed && bytes < maxBytes) {
      await this.#fill();
      let min: Cursor | undefined;
      for (const c of this.#cursors) {
        if (c.at < c.entries.length && (!min || c.entries[c.at]!.seq < min.entries[min.at]!.seq)) min = c;
      }
      if (!min) break;
      const e = min.entries[min.at++]!;
      out.push(e);
      bytes += e.frame.length;
    }
    return out;
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#cursors) c.entries = [];
  }

  /** Entries held now in the channels' pages, not yet handed on. */
  get held(): number {
    let n = 0;
    for (const c of this.#cursors) n += c.entries.length - c.at;
    return n;
  }

  /** Every channel whose page is used up and that has more gets its next page (in parallel). */
  async #fill(): Promise<void> {
    const empty = this.#cursors.filter((c) => c.at >= c.entries.length && !c.done);
    if (empty.length === 0) return;
    await Promise.all(
      empty.map(async (c) => {
        // A page may hold nothing framable: read on until one does or the channel is done.
        while (!c.done && !this.#closed) {
          const p = await this.#pages.page(c.channel, c.after, this.#upTo, this.#size);
          c.entries = p.entries;
          c.at = 0;
          c.after = p.end;
          c.done = p.done;
          if (p.entries.length > 0) return;
        }
      }),
    );
  }
}

/**
 * What a resuming connection still has to write: a backlog given whole (a
 * slice of the ring, shared with other connections and never modified), or
 * read from the stream a chunk at a time, each only once the connection has
 * written the one before.
 */
export class BacklogReader {
  /** The sequence the connection is complete up to once the backlog is written. */
  readonly upTo: number;
  #chunk: readonly Entry[];
  #at = 0;
  #source: PagedBacklog | undefined;
  #fetching = false;

  constructor(backlog: readonly Entry[] | PagedBacklog, upTo: number) {
    this.upTo = upTo;
    if (Array.isArray(backlog)) this.#chunk = backlog as readonly Entry[];
    else {
      this.#chunk = [];
      this.#source = backlog as PagedBacklog;
    }
  }

  /** The next entry at hand, or undefined when none is until a fetch (`waiting`) or ever (`done`). */
  next(): Entry | undefined {
    return this.#at < this.#chunk.length ? this.#chunk[this.#at++] : undefined;
  }

  /** Nothing at hand, but more to come from the stream. */
  get waiting(): boolean {
    return this.#at >= this.#chunk.length && this.#source !== undefined;
  }

  get done(): boolean {
    return this.#at >= this.#chunk.length && this.#source === undefined;
  }

  /** Reads the next chunk (once at a time); `ready` once it is at hand or the backlog is done. */
  fetch(maxBytes: number, ready: () => void, failed: (err: unknown) => void): void {
    const source = this.#source;
    if (!source || this.#fetching) return;
    this.#fetching = true;
    source.next(maxBytes).then(
      (entries) => {
        this.#fetching = false;
        if (this.#source !== source) return;
        if (entries.length === 0) this.close();
        else {
          this.#chunk = entries;
          this.#at = 0;
        }
        ready();
      },
      (err: unknown) => {
        this.#fetching = false;
        if (this.#source !== source) return;
        this.close();
        failed(err);
      },
    );
  }

  close(): void {
    this.#source?.close();
    this.#source = undefined;
    this.#chunk = [];
    this.#at = 0;
  }
}
