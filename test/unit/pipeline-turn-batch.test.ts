/**
 * turnBatch (turn-batch.ts): work queued during one event-loop turn starts
 * together at its end, in order, and each caller gets its own result.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rideAlong, turnBatch } from "../../src/pipeline/turn-batch.js";

/** The connection whose writes are shared; any object. */
const owner = {};

describe("turnBatch", () => {
  it("starts nothing during the turn and everything queued in it together, in order, at its end", async () => {
    const later = turnBatch(owner);
    const started: number[] = [];
    const results = [1, 2, 3].map((n) =>
      later(async () => {
        started.push(n);
        return n * 10;
      }),
    );
    await Promise.resolve();
    assert.deepEqual(started, [], "nothing starts within the turn's microtasks");
    let startedBeforeNextTurn: number[] = [];
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        startedBeforeNextTurn = [...started];
        resolve();
      }),
    );
    assert.deepEqual(startedBeforeNextTurn, [1, 2, 3]);
    assert.deepEqual(await Promise.all(results), [10, 20, 30]);
  });

  it("rejects only the caller whose work failed, whether it rejected or threw", async () => {
    const later = turnBatch(owner);
    const ok = later(async () => "fine");
    const rejected = later(() => Promise.reject(new Error("stored nothing")));
    const threw = later((): Promise<string> => {
      throw new Error("threw at once");
    });
    const after = later(async () => "also fine");
    assert.equal(await ok, "fine");
    await assert.rejects(rejected, /stored nothing/);
    await assert.rejects(threw, /threw at once/);
    assert.equal(await after, "also fine");
  });

  it("starts a fresh batch for work queued after a batch has started", async () => {
    const later = turnBatch(owner);
    const batches: string[] = [];
    await later(async () => batches.push("first"));
    await later(async () => batches.push("second"));
    assert.deepEqual(batches, ["first", "second"]);
  });

  it("runs a rider once, right after the next batch has started, unless it was cancelled", async () => {
    const later = turnBatch(owner);
    const order: string[] = [];
    rideAlong(owner, () => order.push("rider"));
    const cancel = rideAlong(owner, () => order.push("cancelled rider"));
    cancel();
    await later(async () => order.push("batch"));
    await later(async () => order.push("next batch"));
    assert.deepEqual(order, ["batch", "rider", "next batch"]);
  });
});
