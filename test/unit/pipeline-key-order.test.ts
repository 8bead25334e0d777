/** inKeyOrder: one job per key inside the section at a time, in arrival order; keys in parallel; keys forgotten when idle. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { count, firstValueFrom, from, map, mergeMap, Subject, tap, toArray } from "rxjs";
import { inKeyOrder, type KeyOrderStats } from "../../src/pipeline/key-order.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Item {
  key: string;
  n: number;
}

describe("inKeyOrder", () => {
  it("keeps each key's order through a section that reorders, while different keys overlap", async () => {
    const input: Item[] = Array.from({ length: 200 }, (_, i) => ({
      key: `k${i % 10}`,
      n: Math.floor(i / 10),
    }));
    let active = 0;
    let peak = 0;
    const inside = new Set<string>();
    const out = await firstValueFrom(
      from(input).pipe(
        inKeyOrder(
          (x) => x.key,
          mergeMap(async (x: Item) => {
            assert.ok(!inside.has(x.key), `${x.key} had two jobs inside at once`);
            inside.add(x.key);
            peak = Math.max(peak, ++active);
            await sleep(Math.random() * 4);
            active--;
            inside.delete(x.key);
            return x;
          }),
        ),
        toArray(),
      ),
    );
    assert.equal(out.length, 200);
    for (let k = 0; k < 10; k++) {
      assert.deepEqual(
        out.filter((x) => x.key === `k${k}`).map((x) => x.n),
        Array.from({ length: 20 }, (_, i) => i),
      );
    }
    assert.equal(peak, 10, "all ten keys ran at once");
  });

  it("waits for the last job inside before it completes", async () => {
    const out = await firstValueFrom(
      from([1, 2, 3]).pipe(
        inKeyOrder(
          () => "same",
          mergeMap(async (n: number) => {
            await sleep(5);
            return n;
          }),
        ),
        toArray(),
      ),
    );
    assert.deepEqual(out, [1, 2, 3]);
  });

  it("passes a synchronous section straight through", async () => {
    const out = await firstValueFrom(
      from([1, 2, 3, 4]).pipe(
        inKeyOrder(
          (n) => String(n % 2),
          map((n: number) => n + 10),
        ),
        toArray(),
      ),
    );
    assert.deepEqual(out, [11, 12, 13, 14]);
  });

  it("forgets every key after its last job, so state stays bounded by the jobs in flight", async () => {
    const N = 20_000;
    const BOUND = 256;
    const stats: KeyOrderStats = { openKeys: 0, waiting: 0 };
    const input = new Subject<number>();
    let inFlight = 0;
    let peakKeys = 0;
    const waiters: (() => void)[] = [];
    const done = firstValueFrom(
      input.pipe(
        inKeyOrder(
          (i) => `key-${i % 5000}`,
          mergeMap(async (i: number) => {
            peakKeys = Math.max(peakKeys, stats.openKeys);
            await Promise.resolve();
            return i;
          }),
          stats,
        ),
        tap(() => {
          inFlight--;
          for (const w of waiters.splice(0)) w();
        }),
        count(),
      ),
    );
    // Feed like the worker: never more than BOUND unfinished jobs.
    for (let i = 0; i < N; i++) {
      while (inFlight >= BOUND) await new Promise<void>((r) => waiters.push(r));
      inFlight++;
      input.next(i);
    }
    input.complete();
    assert.equal(await done, N);
    assert.ok(peakKeys <= BOUND && peakKeys > 1, `at most ${BOUND} keys open at once (peak ${peakKeys})`);
    assert.equal(stats.openKeys, 0, "every key was forgotten");
    assert.equal(stats.waiting, 0);
  });
});
