/**
 * The broker contract, written once and run against every implementation
 * (memory-broker.test.ts, jetstream-broker.test.ts), so the in-memory twin
 * cannot drift from JetStream.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Broker, BrokerAdmin, ConsumerState, Delivery, StoredMessage } from "../../src/broker/types.js";
import { hasLiveSubjects, hasSignals, type LiveSubjects, type Signals } from "../../src/broker/types.js";
import { waitFor } from "../helpers/wait.js";
import { limitsContract } from "./broker-limits.js";

export interface BrokerFixture {
  broker: Broker;
  close(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (m: StoredMessage) => dec.decode(m.data);

async function collect<T>(it: AsyncIterable<T>, limit = Number.POSITIVE_INFINITY): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
    if (out.length >= limit) break;
  }
  return out;
}

const pick = (c: ConsumerState) => ({
  name: c.name,
  pending: c.pending,
  ackPending: c.ackPending,
  redelivered: c.redelivered,
});

let n = 0;
function names() {
  n++;
  return { stream: `C${n}_${process.pid}`, subj: `c${n}p${process.pid}` };
}

export function brokerContract(label: string, factory: () => Promise<BrokerFixture>): void {
  describe(`Broker contract: ${label}`, () => {
    let fx: BrokerFixture;
    let broker: Broker;
    before(async () => {
      fx = await factory();
      broker = fx.broker;
    });
    after(async () => {
      await fx?.close();
    });

    limitsContract(() => broker);

    async function stream(opts: { maxMsgs?: number; duplicateWindowMs?: number } = {}) {
      const { stream, subj } = names();
      await broker.ensureStream({ name: stream, subjects: [`${subj}.>`], storage: "memory", ...opts });
      return { stream, subj };
    }

    async function publishN(subj: string, count: number, prefix = "m") {
      const seqs: number[] = [];
      for (let i = 0; i < count; i++)
        seqs.push((await broker.publish(`${subj}.a`, enc.encode(`${prefix}${i}`))).seq);
      return seqs;
    }

    it("assigns increasing sequences from 1 and reports them in the stream state", async () => {
      const { stream, subj } = await stream_();
      const seqs = await publishN(subj, 3);
      assert.deepEqual(seqs, [1, 2, 3]);
      const st = await broker.streamState(stream);
      assert.equal(st.messages, 3);
      assert.equal(st.firstSeq, 1);
      assert.equal(st.lastSeq, 3);
    });

    // A named alias keeps the test bodies readable.
    const stream_ = stream;

    it("stores headers with the message", async () => {
      const { stream, subj } = await stream_();
      await broker.publish(`${subj}.h`, enc.encode("x"), { headers: { "x-trace": "t1" } });
      const [m] = await collect(broker.read(stream, { fromSeq: 1 }));
      assert.equal(m?.headers["x-trace"], "t1");
    });

    it("suppresses a duplicate msgId inside the window and returns the first sequence", async () => {
      const { stream, subj } = await stream_();
      const a = await broker.publish(`${subj}.a`, enc.encode("one"), { msgId: "id-1" });
      const b = await broker.publish(`${subj}.a`, enc.encode("two"), { msgId: "id-1" });
      assert.equal(a.duplicate, false);
      assert.equal(b.duplicate, true);
      assert.equal(b.seq, a.seq);
      assert.equal((await broker.streamState(stream)).messages, 1);
    });

    it("creates and updates a stream idempotently", async () => {
      const { stream, subj } = names();
      await broker.ensureStream({ name: stream, subjects: [`${subj}.>`], storage: "memory" });
      await broker.publish(`${subj}.a`, enc.encode("kept"));
      await broker.ensureStream({ name: stream, subjects: [`${subj}.>`], storage: "memory", maxMsgs: 100 });
      assert.equal((await broker.streamState(stream)).messages, 1);
    });

    it("drops the oldest messages past maxMsgs and moves firstSeq", async () => {
      const { stream, subj } = await stream_({ maxMsgs: 2 });
      await publishN(subj, 5);
      const st = await broker.streamState(stream);
      assert.equal(st.messages, 2);
      assert.equal(st.firstSeq, 4);
      assert.equal(st.lastSeq, 5);
    });

    it("rejects the state of an unknown stream with REALER_ERR_STREAM_NOT_FOUND", async () => {
      await assert.rejects(broker.streamState("NO_SUCH_STREAM"), { code: "REALER_ERR_STREAM_NOT_FOUND" });
    });

    it("reads a range in order, filtered by subject, and ends", async () => {
      const { stream, subj } = await stream_();
      for (let i = 1; i <= 6; i++)
        await broker.publish(`${subj}.${i % 2 ? "odd" : "even"}`, enc.encode(`v${i}`));
      const all = await collect(broker.read(stream, { fromSeq: 2, toSeq: 5 }));
      assert.deepEqual(
        all.map((m) => m.seq),
        [2, 3, 4, 5],
      );
      const odd = await collect(broker.read(stream, { fromSeq: 1, subject: `${subj}.odd` }));
      assert.deepEqual(odd.map(text), ["v1", "v3", "v5"]);
      const none = await collect(broker.read(stream, { fromSeq: 7 }));
      assert.deepEqual(none, []);
      const noMatch = await collect(broker.read(stream, { fromSeq: 1, subject: `${subj}.nothing` }));
      assert.deepEqual(noMatch, []);
    });

    it("reads at most `max` messages, and tells what it holds of one subject", async () => {
      const { stream, subj } = await stream_();
      for (let i = 1; i <= 6; i++) await broker.publish(`${subj}.${i % 3 ? "a" : "b"}`, enc.encode(`v${i}`));
      const two = await collect(broker.read(stream, { fromSeq: 2, max: 2 }));
      assert.deepEqual(
        two.map((m) => m.seq),
        [2, 3],
      );
      const a = await collect(broker.read(stream, { fromSeq: 3, subject: `${subj}.a`, max: 1 }));
      assert.deepEqual(
        a.map((m) => m.seq),
        [4],
      );
      assert.deepEqual(await broker.subjectState(stream, `${subj}.a`), { messages: 4, firstSeq: 1 });
      assert.deepEqual(await broker.subjectState(stream, `${subj}.b`), { messages: 2, firstSeq: 3 });
      assert.deepEqual(await broker.subjectState(stream, `${subj}.none`), { messages: 0, firstSeq: 0 });
    });

    describe("live subjects (a stream that republishes what it stores)", () => {
      async function liveStream(republish = true) {
        const { stream, subj } = names();
        await broker.ensureStream({
          name: stream,
          subjects: [`${subj}.>`],
          storage: "memory",
          ...(republish ? { republish: `${subj}live` } : {}),
        });
        assert.ok(hasLiveSubjects(broker), "the broker offers live subjects");
        return { stream, subject: (x: string) => `${subj}.${x}`, live: broker as Broker & LiveSubjects };
      }

      it("is there only for a stream that republishes all it stores", async () => {
        const on = await liveStream();
        assert.ok(await on.live.liveSubjects(on.stream));
        const off = await liveStream(false);
        assert.equal(await off.live.liveSubjects(off.stream), undefined);
      });

      it("hands each subscription its subject's messages, with the subject's previous sequence, in stream order", async () => {
        const s = await liveStream();
        const src = (await s.live.liveSubjects(s.stream))!;
        await broker.publish(s.subject("a"), enc.encode("before"));
        const got: [string, number, number][] = [];
        const offA = src.subscribe(s.subject("a"), (m, prev) => got.push(["a", m.seq, prev]));
        const offB = src.subscribe(s.subject("b"), (m, prev) => got.push(["b", m.seq, prev]));
        await src.flush();
        for (const x of ["a", "b", "c", "b", "a", "a"]) await broker.publish(s.subject(x), enc.encode(x));
        await waitFor(() => got.length === 5, { what: "five live messages" });
        assert.deepEqual(got, [
          ["a", 2, 1],
          ["b", 3, 0],
          ["b", 5, 3],
          ["a", 6, 2],
          ["a", 7, 6],
        ]);
        assert.equal(await src.lastSeq(), 7);
        const read: number[] = [];
        for await (const m of src.read(2, 7, s.subject("b"))) read.push(m.seq);
        assert.deepEqual(read, [3, 5]);
        offA();
        offB();
      });

      it("delivers nothing more after the unsubscribe", async () => {
        const s = await liveStream();
        const src = (await s.live.liveSubjects(s.stream))!;
        const got: number[] = [];
        const off = src.subscribe(s.subject("a"), (m) => got.push(m.seq));
        const other: number[] = [];
        const offOther = src.subscribe(s.subject("b"), (m) => other.push(m.seq));
        await src.flush();
        await broker.publish(s.subject("a"), enc.encode("1"));
        await waitFor(() => got.length === 1, { what: "the first message" });
        off();
        await broker.publish(s.subject("a"), enc.encode("2"));
        const { seq } = await broker.publish(s.subject("b"), enc.encode("3"));
        // The later message of another subject arrived, so the earlier one would have too.
        await waitFor(() => other.includes(seq), { what: "the other subject's message" });
        assert.deepEqual(got, [1]);
        offOther();
      });
    });

    it("reports a creation time that an update of the stream keeps", async () => {
      const { stream, subj } = await stream_();
      const before = Date.now();
      const first = await broker.streamState(stream);
      assert.ok(
        first.created > before - 3_600_000 && first.created <= before + 60_000,
        `created ${first.created}`,
      );
      await broker.ensureStream({ name: stream, subjects: [`${subj}.>`], storage: "memory", maxMsgs: 10 });
      assert.equal((await broker.streamState(stream)).created, first.created);
    });

    describe("signals (optional capability)", () => {
      const signals = () => {
        assert.ok(hasSignals(broker), "the broker offers signals");
        return broker as Broker & Signals;
      };

      it("delivers a signal to every listener of a matching filter, the sender's own included", async () => {
        const { subj } = names();
        const exact: string[] = [];
        const wild: string[] = [];
        const a = signals().listen(`${subj}.one`, (_s, d) => exact.push(dec.decode(d)));
        const b = signals().listen(`${subj}.>`, (s, d) => wild.push(`${s}=${dec.decode(d)}`));
        try {
          await waitFor(
            async () => {
              signals().signal(`${subj}.probe`, enc.encode("p"));
              return wild.length > 0;
            },
            { what: "the listeners to be registered" },
          );
          signals().signal(`${subj}.one`, enc.encode("1"));
          signals().signal(`${subj}.two`, enc.encode("2"));
          await waitFor(() => exact.length === 1 && wild.includes(`${subj}.two=2`), { what: "both signals" });
          assert.deepEqual(exact, ["1"]);
          assert.ok(wild.includes(`${subj}.one=1`));
          assert.deepEqual(
            wild.filter((w) => !w.startsWith(`${subj}.probe`)),
            [`${subj}.one=1`, `${subj}.two=2`],
          );
        } finally {
          a.stop();
          b.stop();
        }
      });

      it("stops delivering to a listener once it stops", async () => {
        const { subj } = names();
        const got: string[] = [];
        const l = signals().listen(`${subj}.s`, (_s, d) => got.push(dec.decode(d)));
        await waitFor(
          async () => {
            signals().signal(`${subj}.s`, enc.encode("probe"));
            return got.length > 0;
          },
          { what: "the listener to be registered" },
        );
        l.stop();
        const seen = got.length;
        const control: string[] = [];
        const c = signals().listen(`${subj}.s`, (_s, d) => control.push(dec.decode(d)));
        try {
          await waitFor(
            async () => {
              signals().signal(`${subj}.s`, enc.encode("after"));
              return control.length > 0;
            },
            { what: "a second listener to hear a signal" },
          );
          assert.equal(got.length, seen, "a stopped listener hears nothing");
        } finally {
          c.stop();
        }
      });
    });

    describe("durable consumers", () => {
      async function consumer(
        opts: { ackWaitMs?: number; maxDeliver?: number; maxAckPending?: number } = {},
      ) {
        const { stream, subj } = await stream_();
        const durable = "w";
        await broker.ensureConsumer({
          stream,
          durable,
          ackWaitMs: opts.ackWaitMs ?? 30_000,
          maxDeliver: opts.maxDeliver ?? -1,
          maxAckPending: opts.maxAckPending ?? 1000,
        });
        await broker.ensureConsumer({
          stream,
          durable,
          ackWaitMs: opts.ackWaitMs ?? 30_000,
          maxDeliver: opts.maxDeliver ?? -1,
          maxAckPending: opts.maxAckPending ?? 1000,
        });
        const fetch = (max: number, expiresMs = 1000) =>
          collect(broker.fetch(stream, durable, { max, expiresMs }), max);
        return { stream, durable, subj, fetch };
      }

      it("hands a fetch's deliveries to each() as they arrive, then resolves when the fetch ends", async () => {
        const { stream, durable, subj, fetch } = await consumer();
        await publishN(subj, 3, "e");
        const got: Delivery[] = [];
        await broker.fetch(stream, durable, { max: 5, expiresMs: 1000 }).each((d) => got.push(d));
        assert.deepEqual(
          got.map((d) => [d.seq, text(d), d.deliveryCount]),
          [
            [1, "e0", 1],
            [2, "e1", 1],
            [3, "e2", 1],
          ],
        );
        for (const d of got) d.ack();
        assert.deepEqual(await fetch(1), []);
      });

      it("delivers each message once to the processes sharing a durable, and an ack settles it", async () => {
        const { subj, fetch } = await consumer();
        await publishN(subj, 4);
        const [a, b] = await Promise.all([fetch(2), fetch(2)]);
        const seen = [...a, ...b].map((d) => d.seq).sort();
        assert.deepEqual(seen, [1, 2, 3, 4]);
        for (const d of [...a, ...b]) {
          assert.equal(d.deliveryCount, 1);
          d.ack();
        }
        assert.deepEqual(await fetch(1), []);
      });

      it("redelivers a claim that outlives the ack wait, counting deliveries", async () => {
        const { subj, fetch } = await consumer({ ackWaitMs: 500 });
        await publishN(subj, 1);
        const [first] = await fetch(1);
        assert.equal(first?.deliveryCount, 1);
        const [again] = await fetch(1, 3000);
        assert.equal(again?.seq, first?.seq);
        assert.equal(again?.deliveryCount, 2);
        again?.ack();
      });

      it("keeps a claim while working() is signalled", async () => {
        const { subj, fetch } = await consumer({ ackWaitMs: 500 });
        await publishN(subj, 1);
        const [d] = await fetch(1);
        const keep = setInterval(() => d?.working(), 150);
        try {
          assert.deepEqual(await fetch(1, 2000), [], "no redelivery while working");
        } finally {
          clearInterval(keep);
        }
        d?.ack();
      });

      it("redelivers after a nak, no sooner than its delay", async () => {
        const { subj, fetch } = await consumer();
        await publishN(subj, 1);
        const [d] = await fetch(1);
        const t0 = Date.now();
        d?.nak(400);
        const [again] = await fetch(1, 3000);
        assert.ok(Date.now() - t0 >= 350, "not before the delay");
        assert.equal(again?.deliveryCount, 2);
        again?.ack();
      });

      it("never redelivers a terminated message", async () => {
        const { subj, fetch } = await consumer();
        await publishN(subj, 2);
        const [d] = await fetch(1);
        d?.term();
        const rest = await fetch(2, 1500);
        assert.deepEqual(
          rest.map((x) => x.seq),
          [2],
        );
        rest[0]?.ack();
      });

      it("gives a message up after maxDeliver deliveries", async () => {
        const { subj, fetch } = await consumer({ ackWaitMs: 300, maxDeliver: 2 });
        await publishN(subj, 1);
        const counts: number[] = [];
        let batch: Delivery[];
        do {
          batch = await fetch(1, 1200);
          for (const d of batch) {
            counts.push(d.deliveryCount);
            d.nak();
          }
        } while (batch.length > 0 && counts.length < 5);
        assert.deepEqual(counts, [1, 2]);
      });

      it("holds at most maxAckPending claims at once", async () => {
        const { subj, fetch } = await consumer({ maxAckPending: 3 });
        await publishN(subj, 5);
        const first = await fetch(5, 1000);
        assert.equal(first.length, 3);
        for (const d of first) d.ack();
        const rest = await fetch(5, 1000);
        assert.deepEqual(
          rest.map((d) => d.seq),
          [4, 5],
        );
      });
    });

    describe("operator capabilities", () => {
      const admin = () => broker as unknown as BrokerAdmin;

      it("gets a stored message by sequence, and nothing for a sequence never stored", async () => {
        const { stream, subj } = await stream_();
        await broker.publish(`${subj}.g`, enc.encode("first"), { headers: { "x-k": "v" } });
        const m = await admin().getMessage(stream, 1);
        assert.equal(m?.seq, 1);
        assert.equal(m?.subject, `${subj}.g`);
        assert.equal(m && text(m), "first");
        assert.equal(m?.headers["x-k"], "v");
        assert.equal(await admin().getMessage(stream, 9), undefined);
      });

      it("deletes one message so reads and gets skip it", async () => {
        const { stream, subj } = await stream_();
        await publishN(subj, 3);
        assert.equal(await admin().deleteMessage(stream, 2), true);
        assert.equal(await admin().deleteMessage(stream, 2), false);
        assert.equal(await admin().getMessage(stream, 2), undefined);
        const seqs = (await collect(broker.read(stream, { fromSeq: 1 }))).map((m) => m.seq);
        assert.deepEqual(seqs, [1, 3]);
        assert.equal((await broker.streamState(stream)).messages, 2);
      });

      it("purges one subject or the whole stream and says how many went", async () => {
        const { stream, subj } = await stream_();
        await broker.publish(`${subj}.x`, enc.encode("1"));
        await broker.publish(`${subj}.y`, enc.encode("2"));
        await broker.publish(`${subj}.x`, enc.encode("3"));
        assert.equal(await admin().purge(stream, `${subj}.x`), 2);
        assert.deepEqual((await collect(broker.read(stream, { fromSeq: 1 }))).map(text), ["2"]);
        assert.equal(await admin().purge(stream), 1);
        const st = await broker.streamState(stream);
        assert.equal(st.messages, 0);
        assert.equal(st.lastSeq, 3);
      });

      it("finds the first sequence stored at or after a time", async () => {
        const { stream, subj } = await stream_();
        await publishN(subj, 2);
        const second = await admin().getMessage(stream, 2);
        assert.equal(await admin().seqAtTime(stream, 0), 1);
        assert.ok((await admin().seqAtTime(stream, second!.time)) <= 2);
        assert.equal(await admin().seqAtTime(stream, Date.now() + 60_000), 3);
      });

      it("counts a durable's unclaimed, claimed and redelivered messages", async () => {
        const { stream, subj } = await stream_();
        await broker.ensureConsumer({
          stream,
          durable: "ops",
          ackWaitMs: 30_000,
          maxDeliver: -1,
          maxAckPending: 100,
        });
        await publishN(subj, 4);
        assert.deepEqual(pick(await admin().consumerState(stream, "ops")), {
          name: "ops",
          pending: 4,
          ackPending: 0,
          redelivered: 0,
        });
        const claimed = await collect(broker.fetch(stream, "ops", { max: 2, expiresMs: 1000 }), 2);
        claimed[0]!.ack();
        claimed[1]!.nak();
        await waitFor(async () => (await admin().consumerState(stream, "ops")).ackPending === 1, {
          what: "the ack to register",
        });
        const again = await collect(broker.fetch(stream, "ops", { max: 1, expiresMs: 2000 }), 1);
        assert.equal(again[0]?.deliveryCount, 2);
        const st = await admin().consumerState(stream, "ops");
        assert.deepEqual(pick(st), { name: "ops", pending: 2, ackPending: 1, redelivered: 1 });
        assert.equal(st.ackFloor, 1);
        const listed = await admin().consumers(stream);
        assert.deepEqual(
          listed.map((c) => c.name),
          ["ops"],
        );
        again[0]!.ack();
      });

      it("refuses unknown consumers and lists streams", async () => {
        const { stream } = await stream_();
        await assert.rejects(admin().consumerState(stream, "nobody"), {
          code: "REALER_ERR_CONSUMER_NOT_FOUND",
        });
        await assert.rejects(admin().consumers("NO_SUCH_STREAM"), { code: "REALER_ERR_STREAM_NOT_FOUND" });
        assert.ok((await admin().streams()).includes(stream));
      });
    });
  });
}
