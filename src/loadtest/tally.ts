/**
 * One subscriber's account of one channel's numbered messages (0, 1, 2, ...):
 * what arrived, what arrived twice, what arrived after a later message,
 * and what never arrived. Memory grows with the gaps, not with the message
 * count: the numbers past the highest one seen are implied, and the holes
 * below it are kept as intervals (an in-order stream keeps none).
 */

/**
 * "late": after a higher-numbered message that was sent only once this one
 * had been answered (the server reordered what it accepted in order);
 * "overtaken": after a higher-numbered message whose publish overlapped its
 * own (the server was free to order those two either way).
 */
export type Arrival = "new" | "late" | "overtaken" | "duplicate";

export class SequenceTally {
  /** One past the highest number seen (0 while nothing arrived). */
  next = 0;
  /** Distinct messages seen. */
  delivered = 0;
  /** Arrivals of a message already seen. */
  duplicates = 0;
  /** Messages that arrived after a higher-numbered one sent after they were answered ("late"). */
  outOfOrder = 0;
  /** The highest `w` (marker.ts) seen: messages below it were all answered before a message that has arrived was sent. */
  #ordered = 0;
  /** Holes below `next`: sorted, disjoint [lo, hi) pairs, flattened. */
  readonly #gaps: number[] = [];

  /** Records the arrival of message `n`, which was sent once messages below `w` had been answered. */
  record(n: number, w = n): Arrival {
    const ordered = this.#ordered;
    if (w > ordered) this.#ordered = w;
    if (n >= this.next) {
      if (n > this.next) this.#gaps.push(this.next, n);
      this.next = n + 1;
      this.delivered++;
      return "new";
    }
    const g = this.#find(n);
    if (g < 0) {
      this.duplicates++;
      return "duplicate";
    }
    const lo = this.#gaps[g]!;
    const hi = this.#gaps[g + 1]!;
    if (lo === n && hi === n + 1) this.#gaps.splice(g, 2);
    else if (lo === n) this.#gaps[g] = n + 1;
    else if (hi === n + 1) this.#gaps[g + 1] = n;
    else this.#gaps.splice(g + 1, 0, n, n + 1);
    this.delivered++;
    if (n >= ordered) return "overtaken";
    this.outOfOrder++;
    return "late";
  }

  /** Whether message `n` has arrived. */
  has(n: number): boolean {
    return n < this.next && this.#find(n) < 0;
  }

  /**
   * Messages numbered in [from, to) that have not arrived, leaving out those
   * in `excused` (publishes that failed: nobody promised them).
   */
  missing(from: number, to: number, excused: readonly number[] = []): number {
    if (to <= from) return 0;
    let count = Math.max(0, to - Math.max(this.next, from));
    const g = this.#gaps;
    for (let i = 0; i < g.length; i += 2) {
      const lo = Math.max(g[i]!, from);
      const hi = Math.min(g[i + 1]!, to);
      if (hi > lo) count += hi - lo;
    }
    for (const n of excused) if (n >= from && n < to && !this.has(n)) count--;
    return count;
  }

  /** The index of the gap holding n, or -1 (binary search). */
  #find(n: number): number {
    const g = this.#gaps;
    let a = 0;
    let b = g.length / 2 - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (n < g[2 * m]!) b = m - 1;
      else if (n >= g[2 * m + 1]!) a = m + 1;
      else return 2 * m;
    }
    return -1;
  }
}
