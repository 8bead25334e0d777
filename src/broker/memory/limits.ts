/**
 * The bookkeeping a memory stream needs to enforce its limits as JetStream
 * does, each bounded by what the stream holds or by its duplicate window:
 * dedupe ids, per-subject counts, and the timer that enforces max age and
 * the window when nothing is published.
 */

/**
 * Dedupe ids inside the duplicate window, the oldest first. A stream at a
 * high rate holds hundreds of thousands: each costs its id, a Map entry and
 * 8 bytes of time (no object per id).
 */
export class DedupeWindow {
  // A Map keeps insertion order and ids come in time order: `#times[#head + i]` is when the Map's i-th id was stored.
  readonly #ids = new Map<string, number>();
  #times: number[] = [];
  #head = 0;

  get size(): number {
    return this.#ids.size;
  }

  /** The sequence stored under `id` inside the window (call `expire` first). */
  seqOf(id: string): number | undefined {
    return this.#ids.get(id);
  }

  /** Remembers an id not remembered now (`seqOf` gave undefined). */
  remember(id: string, seq: number, now: number): void {
    this.#ids.set(id, seq);
    this.#times.push(now);
  }

  /** Forgets every id stored `windowMs` or longer before `now`, and the oldest past `maxIds`. */
  expire(now: number, windowMs: number, maxIds = Number.POSITIVE_INFINITY): void {
    if (this.#head === this.#times.length) return;
    for (const id of this.#ids.keys()) {
      if (this.#head === this.#times.length) break;
      if (now - this.#times[this.#head]! < windowMs && this.#ids.size <= maxIds) break;
      this.#ids.delete(id);
      this.#head++;
    }
    if (this.#head === this.#times.length) {
      this.#times = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#head = 0;
    }
  }

  /** When the oldest id was stored, Unix ms; undefined when none is kept. */
  oldest(): number | undefined {
    return this.#head < this.#times.length ? this.#times[this.#head] : undefined;
  }
}

/** How many messages of each subject a stream holds, and where the oldest of each may be. */
export class SubjectCounts {
  readonly #subjects = new Map<string, { count: number; from: number }>();

  add(subject: string, seq: number): void {
    const s = this.#subjects.get(subject);
    if (s) s.count++;
    else this.#subjects.set(subject, { count: 1, from: seq });
  }

  remove(subject: string): void {
    const s = this.#subjects.get(subject);
    if (s && --s.count <= 0) this.#subjects.delete(subject);
  }

  count(subject: string): number {
    return this.#subjects.get(subject)?.count ?? 0;
  }

  /** A sequence at or below the subject's oldest stored message: where a search for it starts. */
  from(subject: string): number {
    return this.#subjects.get(subject)?.from ?? 0;
  }

  /** Moves the search start of `subject` up to `seq` (every message of it left is at or after `seq`). */
  advance(subject: string, seq: number): void {
    const s = this.#subjects.get(subject);
    if (s) s.from = seq;
  }

  subjects(): string[] {
    return [...this.#subjects.keys()];
  }
}

/** How coarsely a Wakeup fires, ms: under load publishes enforce what is due anyway. */
const TICK_MS = 100;

/** One unref'd timer that fires at the earliest time asked for (rounded up to a tick), never keeping the process alive. */
export class Wakeup {
  readonly #fn: () => void;
  #timer: NodeJS.Timeout | undefined;
  #at = Number.POSITIVE_INFINITY;

  constructor(fn: () => void) {
    this.#fn = fn;
  }

  /** Fires at `at` (Unix ms) unless it is already due to fire sooner. */
  at(at: number): void {
    if (!Number.isFinite(at)) return;
    const tick = Math.ceil(at / TICK_MS) * TICK_MS;
    if (tick >= this.#at) return;
    clearTimeout(this.#timer);
    this.#at = tick;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#at = Number.POSITIVE_INFINITY;
        this.#fn();
      },
      Math.max(0, tick - Date.now()),
    );
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}
