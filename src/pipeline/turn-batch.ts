/**
 * `turnBatch(owner)` returns `later(start)`: `start` runs at the end of the current
 * turn of the event loop (setImmediate), together with every other `start`
 * queued during that turn, in the order they were queued; the returned promise
 * settles as the one `start` returned does.
 *
 * Why: the NATS client sends whatever was queued in one synchronous burst as
 * one socket write, and flushes on the next microtask. The worker receives a
 * pull's messages one async-iterator step apart, so publishing each as it
 * comes costs one socket write per message (measured: ~1 write per event),
 * the largest single item of the worker's CPU profile. Started together, a
 * turn's publishes share one write. The cost is a wait of less than one turn.
 */
export function turnBatch(owner: object): <T>(start: () => Promise<T>) => Promise<T> {
  let queue: (() => void)[] | undefined;
  const flush = () => {
    const q = queue!;
    queue = undefined;
    for (const run of q) run();
    rideNow(owner);
  };
  return <T>(start: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      if (!queue) {
        queue = [];
        setImmediate(flush);
      }
      queue.push(() => {
        try {
          start().then(resolve, reject);
        } catch (err) {
          reject(err);
        }
      });
    });
}

/**
 * Work waiting to go out with the next batch of its owner (see `rideAlong`).
 * Keyed by owner, the connection whose socket write is shared: workers in one
 * process share nothing here.
 */
const riders = new WeakMap<object, Set<() => void>>();

function rideNow(owner: object): void {
  const waiting = riders.get(owner);
  if (!waiting || waiting.size === 0) return;
  const now = [...waiting];
  waiting.clear();
  for (const fn of now) fn();
}

/**
 * Runs `fn` once, right after the next batch of a `turnBatch` of the same
 * `owner` starts, in the same synchronous run, so that what it sends shares
 * that batch's socket write. Settle uses it for acks it holds back anyway
 * (settle.ts); it keeps its own timer for when no batch comes. Returns the
 * cancel.
 */
export function rideAlong(owner: object, fn: () => void): () => void {
  let waiting = riders.get(owner);
  if (!waiting) {
    waiting = new Set();
    riders.set(owner, waiting);
  }
  waiting.add(fn);
  const mine = waiting;
  return () => {
    mine.delete(fn);
  };
}
