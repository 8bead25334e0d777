/**
 * The bounded read of a JetStream stream (src/broker/jetstream/stream-read.ts) against a
 * scripted consumer and leader: what the consumer misses, the leader fills in.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RangeRead, readRange, type StreamReadDeps } from "../../src/broker/jetstream/stream-read.js";
import type { StoredMessage, StreamState } from "../../src/broker/types.js";

/** A stream of `last` messages alternating between subjects a and b (odd: a, even: b). */
function script(o: {
  last: number;
  /** The consumer delivers messages up to this sequence, then says nothing is pending. */
  consumerUpTo?: number;
  /** The consumer's creation never answers (placed on a dead peer). */
  consumerHangs?: boolean;
  /** A follower that is not current. */
  lagging?: boolean;
}) {
  const msg = (seq: number): StoredMessage => ({
    subject: seq % 2 ? "a" : "b",
    seq,
    data: new Uint8Array(),
    headers: {},
    time: 0,
  });
  const calls = { consumers: 0, leader: 0 };
  const state: StreamState = {
    name: "S",
    created: 0,
    messages: o.last,
    bytes: 0,
    firstSeq: 1,
    lastSeq: o.last,
    replicas: 3,
    cluster: {
      leader: "n1",
      followers: [
        { name: "n2", current: true, offline: false, lag: 0 },
        { name: "n3", current: !o.lagging, offline: false, lag: o.lagging ? 50 : 0 },
      ],
    },
  };
  const matches = (seq: number, subject: string | undefined) =>
    subject === undefined || subject === ">" || msg(seq).subject === subject;
  const consumers = {
    get: (_stream: string, opts: { filter_subjects: string; opt_start_seq: number }) => {
      calls.consumers++;
      if (o.consumerHangs) return new Promise(() => {});
      const upTo = Math.min(o.consumerUpTo ?? o.last, o.last);
      const seqs: number[] = [];
      for (let s = opts.opt_start_seq; s <= upTo; s++) if (matches(s, opts.filter_subjects)) seqs.push(s);
      return Promise.resolve({
        info: async () => ({ num_pending: seqs.length }),
        consume: async () =>
          (async function* () {
            for (const [i, seq] of seqs.entries())
              yield { ...msg(seq), info: { pending: seqs.length - i - 1 } };
          })(),
        delete: async () => true,
      });
    },
  };
  const deps = {
    js: { consumers },
    streamState: async () => state,
    nextFromLeader: async (_stream: string, seq: number, subject: string | undefined) => {
      calls.leader++;
      for (let s = seq; s <= o.last; s++) if (matches(s, subject)) return msg(s);
      return undefined;
    },
    toStored: (m: StoredMessage) => msg(m.seq),
  } as unknown as StreamReadDeps;
  return { deps, calls };
}

async function seqs(d: StreamReadDeps, r: Omit<RangeRead, "stream" | "createTimeoutMs">, timeoutMs = 50) {
  const out: number[] = [];
  for await (const m of readRange(d, { stream: "S", createTimeoutMs: timeoutMs, ...r })) out.push(m.seq);
  return out;
}

describe("a bounded read of a stream on a cluster", () => {
  it("asks the leader once after a complete consumer read, and returns each message once", async () => {
    const { deps, calls } = script({ last: 10 });
    assert.deepEqual(await seqs(deps, { fromSeq: 3, toSeq: 10, subject: "a" }), [3, 5, 7, 9]);
    assert.deepEqual(calls, { consumers: 1, leader: 1 });
    // An unfiltered read that reached its end needs no question at all.
    const again = script({ last: 10 });
    assert.deepEqual(await seqs(again.deps, { fromSeq: 8 }), [8, 9, 10]);
    assert.deepEqual(again.calls, { consumers: 1, leader: 0 });
  });

  it("reads from the leader what a consumer on a follower that lags did not see", async () => {
    const { deps } = script({ last: 10, consumerUpTo: 6 });
    assert.deepEqual(await seqs(deps, { fromSeq: 1, subject: "b" }), [2, 4, 6, 8, 10]);
    // Nothing at all seen by the consumer (its pending count says 0).
    const none = script({ last: 10, consumerUpTo: 0 });
    assert.deepEqual(await seqs(none.deps, { fromSeq: 5 }), [5, 6, 7, 8, 9, 10]);
  });

  it("reads from the leader when the consumer's creation does not answer in time", async () => {
    const { deps, calls } = script({ last: 6, consumerHangs: true });
    const started = Date.now();
    assert.deepEqual(await seqs(deps, { fromSeq: 1, subject: "a" }, 30), [1, 3, 5]);
    assert.ok(Date.now() - started < 1_000);
    assert.equal(calls.consumers, 1);
  });

  it("reads from the leader alone while a peer of the stream is not current", async () => {
    const { deps, calls } = script({ last: 6, lagging: true });
    assert.deepEqual(await seqs(deps, { fromSeq: 2, toSeq: 5 }), [2, 3, 4, 5]);
    assert.equal(calls.consumers, 0);
  });

  it("stops after `max` messages, from the consumer or from the leader", async () => {
    const { deps } = script({ last: 10 });
    assert.deepEqual(await seqs(deps, { fromSeq: 2, subject: "a", max: 2 }), [3, 5]);
    const lagging = script({ last: 10, lagging: true });
    assert.deepEqual(await seqs(lagging.deps, { fromSeq: 2, max: 3 }), [2, 3, 4]);
  });

  it("reads nothing past the stream's last sequence, and nothing for an empty range", async () => {
    const { deps, calls } = script({ last: 4 });
    assert.deepEqual(await seqs(deps, { fromSeq: 3, toSeq: 99 }), [3, 4]);
    assert.deepEqual(await seqs(deps, { fromSeq: 5 }), []);
    assert.equal(calls.consumers, 1);
  });
});
