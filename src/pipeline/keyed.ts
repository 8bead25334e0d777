/**
 * Per-key ordering: jobs with the same key run one after another, in arrival
 * order; jobs with different keys run at the same time. Built from stock
 * operators: groupBy the key, concatMap inside each group, merge the groups.
 *
 * How many keys run at once is not bounded here but upstream: the worker
 * holds at most `maxInFlight` unsettled jobs, so at most that many groups
 * exist. Groups are released as soon as their key has no job left (the
 * group's duration ends then), so memory stays flat however many keys pass.
 */
import { defer, groupBy, mergeMap, type ObservableInput, type OperatorFunction, Subject, concatMap, finalize, tap } from "rxjs";

interface KeyState {
  pending: number;
  release: Subject<void>;
}

/** Live counts of a perKey operator, for gauges and tests. */
export interface PerKeyStats {
  /** Keys with a job queued or running (= groups alive). */
  openKeys: number;
}

export function perKey<T, R>(
  keyOf: (t: T) => string,
  work: (t: T) => ObservableInput<R>,
  stats: PerKeyStats = { openKeys: 0 },
): OperatorFunction<T, R> {
  return (source) =>
    defer(() => {
      const keys = new Map<string, KeyState>();
      const done = (key: string) => {
        const s = keys.get(key)!;
        if (--s.pending > 0) return;
        keys.delete(key);
        stats.openKeys = keys.size;
        s.release.next();
        s.release.complete();
      };
      return source.pipe(
        tap((t) => {
          const key = keyOf(t);
          let s = keys.get(key);
          if (!s) {
            keys.set(key, (s = { pending: 0, release: new Subject<void>() }));
            stats.openKeys = keys.size;
          }
          s.pending++;
        }),
        groupBy(keyOf, { duration: (g) => keys.get(g.key)!.release }),
        mergeMap((group) => group.pipe(concatMap((t) => defer(() => work(t)).pipe(finalize(() => done(group.key)))))),
      );
    });
}
