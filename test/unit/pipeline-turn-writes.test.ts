/**
 * TurnWrites (turn-writes.ts): work queued during one event-loop turn starts
 * together at its end, in order, and each caller gets its own result; work
 * joined to the next batch runs right after it starts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TurnWrites } from "../../src/pipeline/turn-writes.js";

describe("TurnWrites", () => {
  it("starts nothing during the turn and everything queued in it together, in order, at its end", async () => {
    const writes = new TurnWrites();
    const started: number[] = [];
    const results = [1, 2, 3].map((n) =>
      writes.startAtTurnEnd(async () => {
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
    const writes = new TurnWrites();
    const ok = writes.startAtTurnEnd(async () => "fine");
    const rejected = writes.startAtTurnEnd(() => Promise.reject(new Error("stored nothing")));
    const threw = writes.startAtTurnEnd((): Promise<string> => {
      throw new Error("threw at once");
    });
    const after = writes.startAtTurnEnd(async () => "also fine");
    assert.equal(await ok, "fine");
    await assert.rejects(rejected, /stored nothing/);
    await assert.rejects(threw, /threw at once/);
    assert.equal(await after, "also fine");
  });

  it("starts a fresh batch for work queued after a batch has started", async () => {
    const writes = new TurnWrites();
    const batches: string[] = [];
    await writes.startAtTurnEnd(async () => batches.push("first"));
    await writes.startAtTurnEnd(async () => batches.push("second"));
    assert.deepEqual(batches, ["first", "second"]);
  });

  it("runs joined work once, right after the next batch has started, unless it was cancelled", async () => {
    const writes = new TurnWrites();
    const order: string[] = [];
    writes.withNextBatch(() => order.push("joined"));
    const cancel = writes.withNextBatch(() => order.push("cancelled"));
    cancel();
    await writes.startAtTurnEnd(async () => order.push("batch"));
    await writes.startAtTurnEnd(async () => order.push("next batch"));
    assert.deepEqual(order, ["batch", "joined", "next batch"]);
  });

  it("keeps each pipeline's joined work to its own batches", async () => {
    const mine = new TurnWrites();
    const other = new TurnWrites();
    const order: string[] = [];
    mine.withNextBatch(() => order.push("joined mine"));
    await other.startAtTurnEnd(async () => order.push("other batch"));
    assert.deepEqual(order, ["other batch"]);
    await mine.startAtTurnEnd(async () => order.push("my batch"));
    assert.deepEqual(order, ["other batch", "my batch", "joined mine"]);
  });
});
