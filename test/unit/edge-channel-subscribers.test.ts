/** The channel subscriber list's connection list: constant-time leave, and nobody skipped when one leaves mid-fan-out. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Connection } from "../../src/edge/connection.js";
import { ChannelSubscribers } from "../../src/edge/subscribers.js";
import type { Entry } from "../../src/edge/types.js";

/** A connection that records what it got, and can leave its channel while receiving (as a slow client does). */
function fakeConnection(
  actor: ChannelSubscribers,
  got: Map<string, number[]>,
  name: string,
  leaves = false,
): Connection {
  const c = {
    deliver(e: Entry) {
      got.set(name, [...(got.get(name) ?? []), e.seq]);
      if (leaves) actor.delete(c as unknown as Connection);
    },
  };
  return c as unknown as Connection;
}

const entry = (seq: number): Entry => ({ seq, channel: "a", frame: Buffer.from(`${seq}`) });

describe("ChannelSubscribers", () => {
  it("delivers to every connection once, even when connections leave during their own delivery", () => {
    for (const leaving of [[0], [4], [0, 4], [1, 2, 3], [0, 1, 2, 3, 4]]) {
      const actor = new ChannelSubscribers();
      const got = new Map<string, number[]>();
      const names = ["c0", "c1", "c2", "c3", "c4"];
      for (const [i, n] of names.entries()) actor.add(fakeConnection(actor, got, n, leaving.includes(i)));
      actor.deliver(entry(1));
      for (const n of names) assert.deepEqual(got.get(n), [1], `${n} with ${leaving} leaving`);
      assert.equal(actor.size, names.length - leaving.length);
      actor.deliver(entry(2));
      for (const [i, n] of names.entries()) assert.deepEqual(got.get(n), leaving.includes(i) ? [1] : [1, 2]);
    }
  });

  it("adds a connection once and removes any one of them", () => {
    const actor = new ChannelSubscribers();
    const got = new Map<string, number[]>();
    const cs = ["a", "b", "c"].map((n) => fakeConnection(actor, got, n));
    for (const c of cs) actor.add(c);
    actor.add(cs[0]!);
    assert.equal(actor.size, 3);
    actor.delete(cs[1]!);
    actor.delete(cs[1]!);
    assert.equal(actor.size, 2);
    actor.deliver(entry(7));
    assert.deepEqual([...got.keys()].sort(), ["a", "c"]);
  });
});
