/**
 * Per-key ordering: `inKeyOrder(keyOf, section)` lets at most one job per key be
 * inside `section` at a time, in arrival order; jobs of different keys go
 * through it together. Because a key never has two jobs inside, the section
 * may reorder freely (async stages finish in any order) and each key's
 * order still holds.
 *
 * Contract: `section` emits exactly one job for every job it receives, with
 * the same key (stages built with stage.ts keep it).
 *
 * Why not groupBy + concatMap with an inner pipeline per job: that subscribes
 * a fresh chain of operators for every job, which measured at ~50 us of CPU
 * per job (most of it garbage collection). Here the stages are subscribed
 * once and a job costs a map lookup.
 *
 * Memory: a key is remembered only while it has a job inside or waiting, so
 * state is bounded by the jobs in flight (the worker's maxInFlight), however
 * many keys pass. How many keys run at once is bounded by the same credit.
 */
import { Observable, type OperatorFunction, Subject } from "rxjs";

/** Live counts of a section run in key order, for gauges and tests. */
export interface KeyOrderStats {
  /** Keys with a job inside the section or waiting for it. */
  openKeys: number;
  /** Jobs waiting because their key is busy. */
  waiting: number;
}

export function inKeyOrder<T>(
  keyOf: (t: T) => string | number,
  section: OperatorFunction<T, T>,
  stats: KeyOrderStats = { openKeys: 0, waiting: 0 },
): OperatorFunction<T, T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      /** Busy keys, each with the jobs waiting behind the one inside. */
      const busy = new Map<string | number, T[]>();
      const admitted = new Subject<T>();
      let sourceDone = false;
      const finishIfIdle = () => {
        if (sourceDone && busy.size === 0) admitted.complete();
      };
      const out = section(admitted).subscribe({
        next: (job) => {
          const key = keyOf(job);
          const queue = busy.get(key);
          const next = queue?.shift();
          if (next !== undefined) {
            stats.waiting--;
          } else {
            busy.delete(key);
            stats.openKeys = busy.size;
          }
          subscriber.next(job);
          if (next !== undefined) admitted.next(next);
          else finishIfIdle();
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      const input = source.subscribe({
        next: (job) => {
          const key = keyOf(job);
          const queue = busy.get(key);
          if (queue) {
            queue.push(job);
            stats.waiting++;
            return;
          }
          busy.set(key, []);
          stats.openKeys = busy.size;
          admitted.next(job);
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          finishIfIdle();
        },
      });
      return () => {
        input.unsubscribe();
        out.unsubscribe();
      };
    });
}
