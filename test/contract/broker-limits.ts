/**
 * Stream limits, part of the broker contract (broker.contract.ts runs these
 * against both brokers): what a stream keeps, and for how long it remembers
 * a dedupe id. Limits are small so each case takes about a second.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Broker, StoredMessage, StreamSpec } from "../../src/broker/types.js";
import { waitFor } from "../helpers/wait.js";

const enc = new TextEncoder();

async function seqsOf(broker: Broker, stream: string): Promise<number[]> {
  const out: number[] = [];
  for await (const m of broker.read(stream, { fromSeq: 1 }) as AsyncIterable<StoredMessage>) out.push(m.seq);
  return out;
}

let n = 0;

export function limitsContract(brokerOf: () => Broker): void {
  describe("stream limits", () => {
    async function stream(limits: Omit<StreamSpec, "name" | "subjects">) {
      n++;
      const name = `LIM${n}_${process.pid}`;
      const subj = `lim${n}p${process.pid}`;
      const spec: StreamSpec = { name, subjects: [`${subj}.>`], storage: "memory", ...limits };
      await brokerOf().ensureStream(spec);
      return { name, subj, spec };
    }

    it("removes messages older than maxAgeMs even when nothing more is published", async () => {
      const broker = brokerOf();
      const { name, subj } = await stream({ maxAgeMs: 1000, duplicateWindowMs: 1000 });
      for (let i = 0; i < 3; i++) await broker.publish(`${subj}.a`, enc.encode(`m${i}`));
      assert.equal((await broker.streamState(name)).messages, 3);
      const stored = Date.now();
      await waitFor(async () => (await broker.streamState(name)).messages === 0, {
        timeoutMs: 10_000,
        what: "the messages to age out",
      });
      assert.ok(Date.now() - stored >= 900, `aged out after ${Date.now() - stored} ms`);
      const st = await broker.streamState(name);
      assert.equal(st.lastSeq, 3);
      assert.equal(st.firstSeq, 4);
    });

    it("keeps at most maxBytes, the newest, dropping the oldest", async () => {
      const broker = brokerOf();
      const { name, subj } = await stream({ maxBytes: 2000 });
      const body = new Uint8Array(100).fill(7);
      for (let i = 0; i < 30; i++) await broker.publish(`${subj}.a`, body);
      const st = await broker.streamState(name);
      assert.ok(st.bytes <= 2000, `${st.bytes} bytes kept`);
      assert.ok(st.messages >= 1 && st.messages < 30, `${st.messages} messages kept`);
      assert.equal(st.lastSeq, 30);
      assert.deepEqual(
        await seqsOf(broker, name),
        Array.from({ length: st.messages }, (_, i) => 30 - st.messages + 1 + i),
      );
    });

    it("keeps at most maxMsgsPerSubject of each subject, the newest", async () => {
      const broker = brokerOf();
      const { name, subj } = await stream({ maxMsgsPerSubject: 2 });
      for (const s of ["a", "b", "a", "a", "b", "a", "c"])
        await broker.publish(`${subj}.${s}`, enc.encode(s));
      // a: 1 3 4 6, b: 2 5, c: 7
      assert.deepEqual(await seqsOf(broker, name), [2, 4, 5, 6, 7]);
    });

    it("applies limits lowered by an update to what the stream already holds", async () => {
      const broker = brokerOf();
      const { name, subj, spec } = await stream({ maxMsgsPerSubject: 3 });
      for (const s of ["a", "b", "a", "b", "a", "c"]) await broker.publish(`${subj}.${s}`, enc.encode(s));
      await broker.ensureStream({ ...spec, maxMsgsPerSubject: 1 });
      assert.deepEqual(await seqsOf(broker, name), [4, 5, 6]);
      await broker.ensureStream({ ...spec, maxMsgsPerSubject: 1, maxMsgs: 2 });
      assert.deepEqual(await seqsOf(broker, name), [5, 6]);
    });

    it("forgets a dedupe id once the duplicate window has passed", async () => {
      const broker = brokerOf();
      const { name, subj } = await stream({ duplicateWindowMs: 500 });
      const first = await broker.publish(`${subj}.a`, enc.encode("1"), { msgId: "once" });
      const stored = Date.now();
      const again = await broker.publish(`${subj}.a`, enc.encode("2"), { msgId: "once" });
      assert.deepEqual([first.duplicate, again.duplicate, again.seq], [false, true, first.seq]);
      // Each try inside the window stores nothing; the first after it is stored.
      const later = await waitFor(
        async () => {
          const ack = await broker.publish(`${subj}.a`, enc.encode("3"), { msgId: "once" });
          return ack.duplicate ? undefined : ack;
        },
        { timeoutMs: 10_000, intervalMs: 50, what: "the dedupe id to expire" },
      );
      assert.ok(Date.now() - stored >= 450, `forgotten after ${Date.now() - stored} ms`);
      assert.equal(later.seq, first.seq + 1);
      assert.equal((await broker.streamState(name)).messages, 2);
    });
  });
}
