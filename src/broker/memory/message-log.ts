/**
 * The messages a memory stream holds, in sequence order. A plain array would
 * do, except that V8 shifts an array of more than ~16k elements by moving
 * every element (it cannot trim the start of an object in its large-object
 * space): a stream at its limit drops its oldest message on every publish,
 * and 100k messages cost ~130 us per shift. Here the oldest go in O(1)
 * (amortized): the array is compacted only once half of it is gone.
 */
import type { StoredMessage } from "../types.js";

/** Slots freed at the front before they are given back (below this, compacting is not worth a copy). */
const COMPACT_AFTER = 1024;

export class MessageLog implements Iterable<StoredMessage> {
  #items: (StoredMessage | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The `i`th oldest message (0: the oldest), or undefined past the end. */
  at(i: number): StoredMessage | undefined {
    return i < 0 ? undefined : this.#items[this.#head + i];
  }

  first(): StoredMessage | undefined {
    return this.#items[this.#head];
  }

  last(): StoredMessage | undefined {
    return this.length > 0 ? this.#items[this.#items.length - 1] : undefined;
  }

  /** Index of the first message with seq >= `seq` (`length` when none). */
  indexFrom(seq: number): number {
    let lo = this.#head;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#items[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.#head;
  }

  /** Appends a message; its seq must be above every stored one. */
  push(m: StoredMessage): void {
    this.#items.push(m);
  }

  /** Removes and returns the oldest message. */
  shift(): StoredMessage | undefined {
    if (this.length === 0) return undefined;
    const m = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    this.#compact();
    return m;
  }

  /** Removes the `i`th oldest message, moving whichever side of it is shorter. */
  removeAt(i: number): StoredMessage | undefined {
    if (i < 0 || i >= this.length) return undefined;
    if (i === 0) return this.shift();
    const p = this.#head + i;
    const m = this.#items[p];
    if (i < this.length / 2) {
      for (let k = p; k > this.#head; k--) this.#items[k] = this.#items[k - 1];
      this.#items[this.#head++] = undefined;
      this.#compact();
    } else {
      this.#items.splice(p, 1);
    }
    return m;
  }

  /** Keeps only the messages `keep` accepts; returns those removed, oldest first. */
  retain(keep: (m: StoredMessage) => boolean): StoredMessage[] {
    const kept: StoredMessage[] = [];
    const gone: StoredMessage[] = [];
    for (const m of this) (keep(m) ? kept : gone).push(m);
    this.#items = kept;
    this.#head = 0;
    return gone;
  }

  *[Symbol.iterator](): Iterator<StoredMessage> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}

/**
 * `data` in an ArrayBuffer of its own. Small Buffers (protobufjs encodes into
 * them) are views into a shared 8 KiB pool slab: keeping one pins the slab, and
 * a stream of long-lived 1 KiB messages would pin 8 KiB each.
 */
export function ownBytes(data: Uint8Array): Uint8Array {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  // Not Buffer.from(data): it copies small data into the pool again.
  const copy = new Uint8Array(data);
  return Buffer.isBuffer(data) ? Buffer.from(copy.buffer) : copy;
}
