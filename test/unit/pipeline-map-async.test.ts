/** mapAsync: unbounded concurrent promises, results in resolution order, completion after the last one. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { firstValueFrom, from, Subject, toArray } from "rxjs";
import { mapAsync } from "../../src/pipeline/map-async.js";

const after = <T>(ms: number, v: T) => new Promise<T>((r) => setTimeout(() => r(v), ms));

describe("mapAsync", () => {
  it("runs every value at once and emits results as they resolve", async () => {
    let active = 0;
    let peak = 0;
    const out = await firstValueFrom(
      from([30, 10, 20]).pipe(
        mapAsync(async (ms) => {
          peak = Math.max(peak, ++active);
          await after(ms, null);
          active--;
          return ms;
        }),
        toArray(),
      ),
    );
    assert.deepEqual(out, [10, 20, 30]);
    assert.equal(peak, 3);
  });

  it("completes only after the last promise settles, even when the source completed first", async () => {
    const input = new Subject<number>();
    let completed = false;
    const out: number[] = [];
    const done = new Promise<void>((resolve) =>
      input.pipe(mapAsync((n) => after(20, n))).subscribe({
        next: (n) => out.push(n),
        complete: () => {
          completed = true;
          resolve();
        },
      }),
    );
    input.next(1);
    input.complete();
    assert.equal(completed, false);
    await done;
    assert.deepEqual(out, [1]);
  });

  it("errors the stream when a promise rejects or the function throws", async () => {
    await assert.rejects(
      firstValueFrom(from([1]).pipe(mapAsync(() => Promise.reject(new Error("no"))))),
      /no/,
    );
    await assert.rejects(
      firstValueFrom(
        from([1]).pipe(
          mapAsync((): Promise<number> => {
            throw new Error("sync");
          }),
        ),
      ),
      /sync/,
    );
  });

  it("emits nothing after unsubscription", async () => {
    const seen: number[] = [];
    const sub = from([1])
      .pipe(mapAsync((n) => after(10, n)))
      .subscribe((n) => seen.push(n));
    sub.unsubscribe();
    await after(30, null);
    assert.deepEqual(seen, []);
  });
});
