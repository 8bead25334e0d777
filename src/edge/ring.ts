/**
 * The ring of recent channel messages, shared by every channel of an edge:
 * it covers sequences (floor, last] with nothing missing, so a cursor at or
 * above `floor` resumes from memory. Fixed capacity: the oldest entry goes
 * when a new one comes.
 */
import type { Entry } from "./types.js";

export class Ring {
  readonly #buf: (Entry | undefined)[];
  #start = 0;
  #size = 0;
  /** Every message after `floor` is in the ring (or was undecodable and never will be). */
  floor: number;

  constructor(capacity: number, floor: number) {
    this.#buf = new Array(Math.max(1, capacity));
    this.floor = floor;
  }

  get size(): number {
    return this.#size;
  }

  push(e: Entry): void {
    const cap = this.#buf.length;
    if (this.#size === cap) {
      this.floor = this.#buf[this.#start]!.seq;
      this.#buf[this.#start] = e;
      this.#start = (this.#start + 1) % cap;
      return;
    }
    this.#buf[(this.#start + this.#size) % cap] = e;
    this.#size++;
  }

  #at(i: number): Entry {
    return this.#buf[(this.#start + i) % this.#buf.length]!;
  }

  /** Entries with `after < seq <= upTo` whose channel is wanted, oldest first. */
  slice(after: number, upTo: number, wanted: (channel: string) => boolean): Entry[] {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#at(mid).seq <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: Entry[] = [];
    for (let i = lo; i < this.#size; i++) {
      const e = this.#at(i);
      if (e.seq > upTo) break;
      if (wanted(e.channel)) out.push(e);
    }
    return out;
  }
}
