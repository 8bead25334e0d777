/**
 * A latency histogram with logarithmic buckets (about 2% wide), fixed size
 * whatever the sample count, and mergeable across processes: the load
 * generator's client processes each keep one and the coordinator adds them up.
 */

/** Buckets per doubling: bucket width is 2^(1/32) - 1, about 2.2%. */
const PER_OCTAVE = 32;
/** 2^30 microseconds (about 18 minutes) is the largest latency kept apart. */
const SIZE = 30 * PER_OCTAVE + 1;

export interface HistogramData {
  /** [bucket, count] pairs for the buckets that have samples. */
  buckets: [number, number][];
  count: number;
  max: number;
}

export class Histogram {
  readonly #counts = new Float64Array(SIZE);
  count = 0;
  max = 0;

  /** Records one sample, in microseconds (negative clock skew counts as 0). */
  record(us: number): void {
    const v = Math.max(1, us);
    const i = Math.min(SIZE - 1, Math.floor(Math.log2(v) * PER_OCTAVE));
    this.#counts[i]!++;
    this.count++;
    if (us > this.max) this.max = us;
  }

  reset(): void {
    this.#counts.fill(0);
    this.count = 0;
    this.max = 0;
  }

  toJSON(): HistogramData {
    const buckets: [number, number][] = [];
    this.#counts.forEach((c, i) => {
      if (c) buckets.push([i, c]);
    });
    return { buckets, count: this.count, max: this.max };
  }

  add(d: HistogramData): void {
    for (const [i, c] of d.buckets) this.#counts[i]! += c;
    this.count += d.count;
    if (d.max > this.max) this.max = d.max;
  }

  /** The value below which fraction `q` of the samples lie (bucket midpoint), in microseconds. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < SIZE; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.max, 2 ** ((i + 0.5) / PER_OCTAVE));
    }
    return this.max;
  }
}
