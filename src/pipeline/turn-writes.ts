/**
 * The writes of one pipeline, sent together once per event-loop turn.
 *
 * Why: the NATS client sends whatever was queued in one synchronous burst as
 * one socket write, and flushes on the next microtask. The worker receives a
 * pull's messages one async-iterator step apart, so publishing each as it
 * comes costs one socket write per message (measured: ~1 write per event),
 * the largest single item of the worker's CPU profile. Started together, a
 * turn's publishes share one write. The cost is a wait of less than one turn.
 *
 * One `TurnWrites` is made per compiled pipeline (pipeline.ts) and handed to
 * the two that share it: the publish stage starts its stores through it, and
 * settle sends the acks it holds back right after them, in the same write.
 */
export class TurnWrites {
  #queue: (() => void)[] | undefined;
  readonly #joined = new Set<() => void>();

  /**
   * Runs `start` at the end of the current turn (setImmediate), together with
   * every other `start` queued during that turn, in the order they were
   * queued; the promise settles as the one `start` returned does.
   */
  startAtTurnEnd<T>(start: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.#queue) {
        this.#queue = [];
        setImmediate(() => this.#startAll());
      }
      this.#queue.push(() => {
        try {
          start().then(resolve, reject);
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /**
   * Runs `fn` once, right after the next batch of starts, in the same
   * synchronous run, so that what it sends shares that batch's socket write.
   * Settle uses it for acks it holds back anyway; it keeps its own timer for
   * when no batch comes. Returns the cancel.
   */
  withNextBatch(fn: () => void): () => void {
    this.#joined.add(fn);
    return () => {
      this.#joined.delete(fn);
    };
  }

  #startAll(): void {
    const queue = this.#queue ?? [];
    this.#queue = undefined;
    for (const start of queue) start();
    if (this.#joined.size === 0) return;
    const joined = [...this.#joined];
    this.#joined.clear();
    for (const fn of joined) fn();
  }
}
