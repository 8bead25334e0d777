/** perKey: one job per key at a time, in arrival order; keys in parallel; groups released when idle. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { count, firstValueFrom, from, Subject, tap, toArray } from "rxjs";
import { type PerKeyStats, perKey } from "../../src/pipeline/keyed.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("perKey", () => {
  it("keeps each key's order while different keys overlap", async () => {
    const input = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 10}`, n: Math.floor(i / 10) }));
    let active = 0;
    let peak = 0;
    const busy = new Set<string>();
    const out = await firstValueFrom(
      from(input).pipe(
        perKey(
          (x) => x.key,
          async (x) => {
            assert.ok(!busy.has(x.key), `${x.key} ran twice at once`);
            busy.add(x.key);
            peak = Math.max(peak, ++active);
            await sleep(Math.random() * 4);
            active--;
            busy.delete(x.key);
            return x;
          },
        ),
        toArray(),
      ),
    );
    assert.equal(out.length, 200);
    for (let k = 0; k < 10; k++) {
      assert.deepEqual(out.filter((x) => x.key === `k${k}`).map((x) => x.n), Array.from({ length: 20 }, (_, i) => i));
    }
    assert.equal(peak, 10);
  });

  it("releases a key's group when it has no job left, and a later job of that key still runs in order", async () => {
    const input = new Subject<{ key: string; n: number }>();
    const seen: number[] = [];
    let subscriptions = 0;
    const done = firstValueFrom(
      input.pipe(
        perKey(
          (x) => x.key,
          async (x) => {
            subscriptions++;
            await sleep(2);
            seen.push(x.n);
            return x;
          },
        ),
        toArray(),
      ),
    );
    input.next({ key: "a", n: 1 });
    input.next({ key: "a", n: 2 });
    await sleep(30);
    input.next({ key: "a", n: 3 });
    input.complete();
    await done;
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(subscriptions, 3);
  });

  it("releases every key after its last job, so state stays bounded by the jobs in flight", async () => {
    const N = 20_000;
    const BOUND = 256;
    const stats: PerKeyStats = { openKeys: 0 };
    const input = new Subject<number>();
    let inFlight = 0;
    let peakKeys = 0;
    let wake: (() => void) | undefined;
    const done = firstValueFrom(
      input.pipe(
        perKey(
          (i) => `key-${i % 5000}`,
          async (i) => {
            peakKeys = Math.max(peakKeys, stats.openKeys);
            await sleep(0);
            return i;
          },
          stats,
        ),
        tap(() => {
          inFlight--;
          wake?.();
        }),
        count(),
      ),
    );
    // Feed like the worker: never more than BOUND unfinished jobs.
    for (let i = 0; i < N; i++) {
      while (inFlight >= BOUND) await new Promise<void>((r) => (wake = r));
      inFlight++;
      input.next(i);
    }
    input.complete();
    assert.equal(await done, N);
    assert.ok(peakKeys <= BOUND, `at most ${BOUND} keys open at once (peak ${peakKeys})`);
    assert.ok(peakKeys > 1);
    assert.equal(stats.openKeys, 0, "every key was released");
  });
});
