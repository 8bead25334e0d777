/**
 * The bookkeeping a memory stream needs to enforce its limits as JetStream
 * does, each bounded by what the stream holds or by its duplicate window:
 * dedupe ids, per-subject counts, and the timer that enforces max age and
 * the window when nothing is published.
 */

/** Dedupe ids inside the duplicate window, the oldest first. */
export class DedupeWindow {
  // A Map keeps insertion order: ids are stored in time order, so the expired ones are at its front.
  readonly #ids = new Map<string, { seq: number; at: number }>();

  get size(): number {
    return this.#ids.size;
  }

  /** The sequence stored under `id` inside the window (call `expire` first). */
  seqOf(id: string): number | undefined {
    return this.#ids.get(id)?.seq;
  }

  remember(id: string, seq: number, now: number): void {
    this.#ids.set(id, { seq, at: now });
  }

  /** Forgets every id stored `windowMs` or longer before `now`. */
  expire(now: number, windowMs: number): void {
    for (const [id, seen] of this.#ids) {
      if (now - seen.at < windowMs) break;
      this.#ids.delete(id);
    }
  }

  /** When the oldest id was stored, Unix ms; undefined when none is kept. */
  oldest(): number | undefined {
    return this.#ids.values().next().value?.at;
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
