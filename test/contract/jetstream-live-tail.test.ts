/**
 * Tails of a stream that republishes what it stores (broker/live-tail.ts),
 * on a real nats-server: live messages come from a plain subscription, and
 * whatever it misses (dropped here on purpose, lost in a reconnect, or
 * beyond a full queue) is read back from the stream, in order, once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream-broker.js";
import { type LiveSource, liveTail } from "../../src/broker/live-tail.js";
import type { StoredMessage, Tail } from "../../src/broker/types.js";
import { startJetStream } from "../helpers/nats-server.js";
import { waitFor } from "../helpers/wait.js";

const text = (m: StoredMessage) => new TextDecoder().decode(m.data);

/** Reads `n` messages from `t` (then stops it), failing after `timeoutMs`. */
async function take(t: Tail, n: number, timeoutMs = 15_000): Promise<StoredMessage[]> {
  const got: StoredMessage[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      t.stop();
      reject(new Error(`got ${got.length} of ${n}: ${got.map((m) => m.seq).join(",")}`));
    }, timeoutMs);
  });
  const read = (async () => {
    for await (const m of t) {
      got.push(m);
      if (got.length === n) break;
    }
  })();
  try {
    await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    t.stop();
  }
  return got;
}

describe("live tails (JetStream RePublish)", () => {
  let js: Awaited<ReturnType<typeof startJetStream>>;
  let n = 0;
  before(async () => {
    js = await startJetStream();
  });
  after(async () => {
    await js?.close();
  });

  /** A fresh stream `LT<n>` on `lt<n>.>`, republished under `ltlive<n>`. */
  async function stream_(storage: "memory" | "file" = "memory") {
    n++;
    const name = `LT${n}`;
    const live = `ltlive${n}`;
    await js.broker.ensureStream({ name, subjects: [`lt${n}.>`], storage, republish: live });
    const publish = async (count: number, prefix: string) => {
      for (let i = 0; i < count; i++)
        await js.broker.publish(`lt${n}.a`, new TextEncoder().encode(`${prefix}${i}`));
    };
    return { name, dest: `${live}.>`, publish };
  }

  /** The broker's live source, minus the live messages `drop` picks. */
  function dropping(name: string, dest: string, drop: (seq: number) => boolean): LiveSource {
    const real = js.broker.liveSource(name, dest);
    return {
      ...real,
      subscribe: (on, onError) => real.subscribe((m) => (drop(m.seq) ? undefined : on(m)), onError),
    };
  }

  it("creates the stream with its republish, and keeps an older stream's (none) on update", async () => {
    const { name } = await stream_();
    const info = await js.broker.streamState(name);
    assert.equal(info.messages, 0);
    await js.broker.ensureStream({ name: "LTOLD", subjects: ["ltold.>"], storage: "memory" });
    // nats-server 2.9 cannot add RePublish to an existing stream: the update keeps the stream as it is.
    await js.broker.ensureStream({
      name: "LTOLD",
      subjects: ["ltold.>"],
      storage: "memory",
      republish: "ltoldlive",
      maxMsgs: 5,
    });
    await js.broker.publish("ltold.x", new TextEncoder().encode("o1"));
    const got = await take(js.broker.tail("LTOLD", { fromSeq: 1 }), 1);
    assert.deepEqual(got.map(text), ["o1"]);
  });

  it("tails history, then live messages, through the broker", async () => {
    const { name, publish } = await stream_();
    await publish(3, "h");
    const t = js.broker.tail(name, { fromSeq: 2 });
    const got = take(t, 5);
    await publish(3, "l");
    const all = await got;
    assert.deepEqual(all.map(text), ["h1", "h2", "l0", "l1", "l2"]);
    assert.deepEqual(
      all.map((m) => m.seq),
      [2, 3, 4, 5, 6],
    );
    assert.ok(all.every((m) => m.subject === `lt${n}.a`));
  });

  it("reads live messages the subscription missed back from the stream, in order", async () => {
    const { name, dest, publish } = await stream_();
    await publish(1, "h");
    const dropped: number[] = [];
    const src = dropping(name, dest, (seq) => {
      const drop = seq === 3 || seq === 4;
      if (drop) dropped.push(seq);
      return drop;
    });
    const repairs: string[] = [];
    const got = take(liveTail(src, { fromSeq: 1, onRepair: (r) => repairs.push(r) }), 6);
    await publish(5, "l");
    const all = await got;
    assert.deepEqual(dropped, [3, 4], "the live subscription saw 3 and 4 and dropped them");
    assert.deepEqual(repairs, ["gap", "gap"], "3 and 4 were read back");
    assert.deepEqual(
      all.map((m) => m.seq),
      [1, 2, 3, 4, 5, 6],
    );
    assert.deepEqual(all.map(text), ["h0", "l0", "l1", "l2", "l3", "l4"]);
  });

  it("finds a loss at the very end by asking the stream when nothing live comes", async () => {
    const { name, dest, publish } = await stream_();
    const src = dropping(name, dest, (seq) => seq >= 2);
    let repaired = 0;
    const got = take(
      liveTail(src, { fromSeq: 1, syncMs: 50, onRepair: (r) => (repaired += r === "end" ? 1 : 0) }),
      3,
    );
    await publish(3, "l");
    assert.deepEqual(
      (await got).map((m) => m.seq),
      [1, 2, 3],
    );
    assert.equal(repaired, 2, "2 and 3 were read back at the end");
  });

  it("drops live messages past a full queue and reads them back", async () => {
    const { name, dest, publish } = await stream_();
    await publish(1, "h");
    let seen = 0;
    const real = js.broker.liveSource(name, dest);
    const counting: LiveSource = {
      ...real,
      subscribe: (on, onError) =>
        real.subscribe((m) => {
          seen++;
          on(m);
        }, onError),
    };
    const t = liveTail(counting, { fromSeq: 1, maxQueued: 2 });
    const it = t[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.seq, 1);
    // Not reading: 20 live messages reach the subscription, a queue of 2 holds 2 of them.
    await publish(20, "l");
    await waitFor(() => seen === 20, { what: "20 live messages seen" });
    const rest: number[] = [];
    while (rest.length < 20) {
      const r = await it.next();
      assert.ok(!r.done);
      rest.push(r.value.seq);
    }
    t.stop();
    await it.return?.(undefined);
    assert.deepEqual(
      rest,
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
  });

  it("misses nothing stored while its connection was down", async () => {
    const { name, publish } = await stream_("file");
    const reader = await JetStreamBroker.connect({ servers: js.server.url, name: "lt-reader" });
    try {
      await publish(2, "a");
      const t = reader.tail(name, { fromSeq: 1 });
      const it = t[Symbol.asyncIterator]();
      assert.equal((await it.next()).value?.seq, 1);
      assert.equal((await it.next()).value?.seq, 2);
      await js.server.restart();
      // A new connection publishes at once; the reader is still reconnecting (a 2 s wait by default).
      const writer = await JetStreamBroker.connect({ servers: js.server.url, name: "lt-writer" });
      try {
        for (let i = 0; i < 3; i++) await writer.publish(`lt${n}.a`, new TextEncoder().encode(`b${i}`));
      } finally {
        await writer.close();
      }
      const rest: string[] = [];
      while (rest.length < 3) {
        const r = await it.next();
        assert.ok(!r.done);
        rest.push(`${r.value.seq}:${text(r.value)}`);
      }
      t.stop();
      await it.return?.(undefined);
      assert.deepEqual(rest, ["3:b0", "4:b1", "5:b2"]);
    } finally {
      await reader.close();
    }
  });

  it("ends when stopped while waiting for live messages", async () => {
    const { name, publish } = await stream_();
    await publish(1, "h");
    const t = js.broker.tail(name, { fromSeq: 1 });
    const it = t[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.seq, 1);
    const waiting = it.next();
    t.stop();
    assert.deepEqual(await waiting, { done: true, value: undefined });
  });
});
