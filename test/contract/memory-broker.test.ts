import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import { brokerContract } from "./broker.contract.js";

brokerContract("memory", async () => {
  const broker = new MemoryBroker();
  return { broker, close: () => broker.close() };
});

// Memory only: JetStream has no such limit (it keeps every id of the window).
describe("memory broker: dedupe ids past maxDedupeIds", () => {
  it("forgets the oldest ids first, and stores a repeat of one again", async () => {
    const broker = new MemoryBroker();
    try {
      await broker.ensureStream({ name: "D", subjects: ["d.>"], maxDedupeIds: 3 });
      const data = new Uint8Array([1]);
      for (const id of ["a", "b", "c", "d"]) await broker.publish("d.x", data, { msgId: id });
      const again = await Promise.all(
        ["b", "c", "d", "a"].map((id) => broker.publish("d.x", data, { msgId: id })),
      );
      assert.deepEqual(
        again.map((a) => [a.seq, a.duplicate]),
        [
          [2, true],
          [3, true],
          [4, true],
          [5, false],
        ],
      );
    } finally {
      await broker.close();
    }
  });
});
