/**
 * Resume on one edge, on both brokers: from the ring, from the stream,
 * one history read per channel in a reconnect storm, and `event: reset`
 * whenever an id cannot be honoured.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Broker, ReadOptions, StoredMessage } from "../../src/broker/types.js";
import { edgeMetrics } from "../../src/edge/metrics.js";
import { forEachBroker } from "../helpers/brokers.js";
import type { SseClient } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { type EdgeUnderTest, metric, publishTo, seqOf, sseOn, startTestEdge, texts } from "./edge-fixture.js";

let n = 0;
const uniq = (p: string) => `${p}${++n}x${process.pid}`;

forEachBroker((_kind, sb) => {
  describe("edge resume", () => {
    const clients: SseClient[] = [];
    const edges: EdgeUnderTest[] = [];
    after(async () => {
      for (const c of clients) c.close();
      for (const e of edges) await e.close();
    });
    async function edgeWith(over: Parameters<typeof startTestEdge>[1], broker: Broker = sb.broker) {
      const e = await startTestEdge(broker, over);
      edges.push(e);
      return { e, broker };
    }
    const connect = (e: EdgeUnderTest, channels: string[], headers: Record<string, string> = {}) =>
      sseOn(e, channels, headers, clients);

    describe("within the ring", () => {
      let e: EdgeUnderTest;
      let broker: Broker;
      before(async () => {
        ({ e, broker } = await edgeWith(() => {}));
      });

      it("resumes every channel of the connection from the ring, merged in sequence order, without a stream read", async () => {
        const [a, b, other] = [uniq("a"), uniq("b"), uniq("o")];
        const first = await connect(e, [a, b]);
        await publishTo(broker, e.cfg, a, "a0");
        await publishTo(broker, e.cfg, b, "b0");
        await first.waitForMessages(2);
        const last = first.lastId()!;
        first.close();
        await first.ended;
        await waitFor(() => e.hub.connections === 0, { what: "the edge to see the close" });
        for (const [ch, t] of [
          [a, "a1"],
          [other, "o1"],
          [b, "b1"],
          [a, "a2"],
          [other, "o2"],
          [b, "b2"],
        ] as const) {
          await publishTo(broker, e.cfg, ch, t);
        }
        await waitFor(() => e.hub.position >= seqOf(last) + 6, {
          what: "the hub to read the missed messages",
        });
        const reads = await metric(edgeMetrics.historyReads);
        const ringResumes = await metric(edgeMetrics.resumes, { outcome: "ring" });
        const again = await connect(e, [a, b], { "last-event-id": last });
        const got = await again.waitForMessages(4);
        assert.deepEqual(texts(got), ["a1", "b1", "a2", "b2"]);
        const seqs = got.map((f) => seqOf(f.id));
        assert.deepEqual(
          [...seqs].sort((x, y) => x - y),
          seqs,
          "in sequence order",
        );
        await publishTo(broker, e.cfg, b, "b3");
        assert.deepEqual(texts(await again.waitForMessages(5)).slice(4), ["b3"], "then live");
        assert.equal(again.messages().length, 5, "no duplicate");
        assert.equal(await metric(edgeMetrics.historyReads), reads, "no history read");
        assert.equal(await metric(edgeMetrics.resumes, { outcome: "ring" }), ringResumes + 1);
        assert.ok(!again.frames.some((f) => f.event === "reset"));
      });

      it("accepts a bare sequence as Last-Event-ID and reads it as the current epoch", async () => {
        const ch = uniq("bare");
        const s1 = await publishTo(broker, e.cfg, ch, "one");
        await publishTo(broker, e.cfg, ch, "two");
        const c = await connect(e, [ch], { "last-event-id": String(s1) });
        assert.deepEqual(texts(await c.waitForMessages(1)), ["two"]);
        assert.match(c.messages()[0]!.id!, new RegExp(`^${e.hub.epoch}-\\d+$`));
      });

      it("sends reset for an id from another epoch, then everything the stream keeps, then live", async () => {
        const ch = uniq("ep");
        const old = await publishTo(broker, e.cfg, ch, "old");
        const c = await connect(e, [ch], { "last-event-id": "zz0-1" });
        const reset = JSON.parse((await c.waitForEvent("reset")).data);
        assert.deepEqual(reset.channels, [ch]);
        assert.equal(reset.reason, "epoch");
        const { firstSeq } = await broker.streamState(e.cfg.streams.channels.name);
        assert.equal(seqOf(reset.from), firstSeq, "continues from the first message the stream keeps");
        assert.ok(seqOf(reset.from) <= old);
        await publishTo(broker, e.cfg, ch, "new");
        assert.deepEqual(texts(await c.waitForMessages(2)), ["old", "new"]);
      });

      it("skips a channel message it cannot decode, on resume and live, and delivers the next", async () => {
        const ch = uniq("bad");
        const bad = () =>
          broker.publish(`${e.cfg.subjects.channels}.${ch}`, Uint8Array.from([0x0f, 0xff, 0xff]));
        // Nobody watches the channel yet: its messages are framed only when the resume reads them from the ring.
        const s0 = await publishTo(broker, e.cfg, ch, "before");
        await bad(); // not a ChannelMessage: a field with a wire type protobuf does not have
        const s2 = await publishTo(broker, e.cfg, ch, "after");
        await waitFor(() => e.hub.position >= s2, { what: "the hub to read them" });
        const c = await connect(e, [ch], { "last-event-id": `${e.hub.epoch}-${s0 - 1}` });
        assert.deepEqual(texts(await c.waitForMessages(2)), ["before", "after"]);
        await bad();
        await publishTo(broker, e.cfg, ch, "live");
        assert.deepEqual(texts(await c.waitForMessages(3)), ["before", "after", "live"]);
        assert.equal(c.messages().length, 3, "no frame for either bad message");
      });

      it("sends reset for an id past the end of the stream and continues live", async () => {
        const ch = uniq("fut");
        const c = await connect(e, [ch], { "last-event-id": `${e.hub.epoch}-999999` });
        const reset = JSON.parse((await c.waitForEvent("reset")).data);
        assert.equal(reset.reason, "unknown-id");
        await publishTo(broker, e.cfg, ch, "live");
        assert.deepEqual(texts(await c.waitForMessages(1)), ["live"]);
      });
    });

    describe("beyond the ring", () => {
      it("resumes from the stream when the ring no longer covers the gap", async () => {
        const { e, broker } = await edgeWith((c) => {
          c.edge.ringSize = 3;
        });
        const [a, b] = [uniq("a"), uniq("b")];
        const first = await connect(e, [a, b]);
        await publishTo(broker, e.cfg, a, "a0");
        const last = (await first.waitForMessages(1)).at(-1)!.id!;
        first.close();
        const want: string[] = [];
        for (let i = 1; i <= 12; i++) {
          const ch = [a, b, uniq("noise")][i % 3]!;
          await publishTo(broker, e.cfg, ch, `m${i}`);
          if (ch === a || ch === b) want.push(`m${i}`);
        }
        await waitFor(() => e.hub.position >= seqOf(last) + 12 && e.hub.ringFloor > seqOf(last), {
          what: "the ring to roll past",
        });
        const reads = await metric(edgeMetrics.historyReads);
        const streamResumes = await metric(edgeMetrics.resumes, { outcome: "stream" });
        const again = await connect(e, [a, b], { "last-event-id": last });
        assert.deepEqual(texts(await again.waitForMessages(want.length)), want);
        await publishTo(broker, e.cfg, a, "live");
        assert.deepEqual(texts(await again.waitForMessages(want.length + 1)).at(-1), "live");
        assert.equal(again.messages().length, want.length + 1, "no duplicate");
        assert.equal(await metric(edgeMetrics.historyReads), reads + 2, "one read per channel");
        assert.equal(await metric(edgeMetrics.resumes, { outcome: "stream" }), streamResumes + 1);
      });

      it("answers a reconnect storm with one history read per channel, not one per client", async () => {
        // Reads wait at a gate so that every resume is in flight at once, as in a real storm.
        const inner = sb.broker;
        let open!: () => void;
        const gate = new Promise<void>((r) => {
          open = r;
        });
        let reads = 0;
        const gated = new Proxy(inner, {
          get(target, prop, receiver) {
            if (prop === "read") {
              return (stream: string, opts: ReadOptions) =>
                (async function* () {
                  reads++;
                  await gate;
                  yield* target.read(stream, opts) as AsyncIterable<StoredMessage>;
                })();
            }
            const v = Reflect.get(target, prop, receiver);
            return typeof v === "function" ? v.bind(target) : v;
          },
        });
        const { e } = await edgeWith((c) => {
          c.edge.ringSize = 2;
        }, gated);
        const [a, b] = [uniq("a"), uniq("b")];
        const first = await connect(e, [a, b]);
        await publishTo(inner, e.cfg, a, "seen");
        const last = (await first.waitForMessages(1))[0]!.id!;
        first.close();
        for (let i = 0; i < 10; i++) await publishTo(inner, e.cfg, i % 2 ? a : b, `s${i}`);
        await waitFor(() => e.hub.ringFloor > seqOf(last) && e.hub.connections === 0, {
          what: "the ring to roll past",
        });
        const storm = await Promise.all(
          Array.from({ length: 40 }, () => connect(e, [a, b], { "last-event-id": last })),
        );
        await waitFor(() => e.hub.connections === 40, { what: "40 connections" });
        open();
        const want = Array.from({ length: 10 }, (_, i) => `s${i}`);
        for (const c of storm) assert.deepEqual(texts(await c.waitForMessages(10)), want);
        assert.equal(reads, 2, "one read per channel for 40 clients");
      });

      it("ends the stream with event: error REALER_ERR_RESUME_FAILED when the history cannot be read, and a retry succeeds", async () => {
        const inner = sb.broker;
        let failing = true;
        const flaky = new Proxy(inner, {
          get(target, prop, receiver) {
            if (prop === "read" && failing) {
              return () =>
                (async function* () {
                  yield* [] as StoredMessage[];
                  throw new Error("history unavailable");
                })();
            }
            const v = Reflect.get(target, prop, receiver);
            return typeof v === "function" ? v.bind(target) : v;
          },
        });
        const { e } = await edgeWith((c) => {
          c.edge.ringSize = 1;
        }, flaky);
        const ch = uniq("flaky");
        // A client that watches the channel, so the edge reads it and its ring rolls.
        const watcher = await connect(e, [ch]);
        const s1 = await publishTo(inner, e.cfg, ch, "one");
        await publishTo(inner, e.cfg, ch, "two");
        await publishTo(inner, e.cfg, ch, "three");
        await waitFor(() => e.hub.ringFloor > s1, { what: "the ring to roll past" });
        const failed = await connect(e, [ch], { "last-event-id": `${e.hub.epoch}-${s1}` });
        const err = JSON.parse((await failed.waitForEvent("error")).data);
        assert.equal(err.code, "REALER_ERR_RESUME_FAILED");
        assert.equal(
          err.cursor,
          `${e.hub.epoch}-${s1}`,
          "the cursor is unchanged, so a retry asks for the same",
        );
        await failed.ended;
        assert.equal(failed.messages().length, 0);
        failing = false;
        const retry = await connect(e, [ch], { "last-event-id": err.cursor });
        assert.deepEqual(texts(await retry.waitForMessages(2)), ["two", "three"]);
        assert.deepEqual(texts(await watcher.waitForMessages(3)), ["one", "two", "three"]);
      });

      it("sends reset with the first kept sequence when the id is older than the stream keeps", async () => {
        const { e, broker } = await edgeWith((c) => {
          c.edge.ringSize = 2;
          c.streams.channels.maxMsgs = 5;
        });
        const ch = uniq("old");
        const first = await connect(e, [ch]);
        await publishTo(broker, e.cfg, ch, "x0");
        const last = (await first.waitForMessages(1))[0]!.id!;
        first.close();
        for (let i = 1; i <= 10; i++) await publishTo(broker, e.cfg, ch, `x${i}`);
        const { firstSeq } = await broker.streamState(e.cfg.streams.channels.name);
        await waitFor(() => e.hub.position >= firstSeq + 4, { what: "the hub to catch up" });
        const resets = await metric(edgeMetrics.resumes, { outcome: "reset" });
        const again = await connect(e, [ch], { "last-event-id": last });
        const kept = await again.waitForMessages(5);
        const resetAt = again.frames.findIndex((f) => f.event === "reset");
        assert.equal(resetAt, 1, "the reset comes first, after the retry frame");
        const reset = JSON.parse(again.frames[resetAt]!.data);
        assert.deepEqual(reset, {
          channels: [ch],
          from: `${e.hub.epoch}-${firstSeq}`,
          reason: "history-gone",
        });
        assert.deepEqual(texts(kept), ["x6", "x7", "x8", "x9", "x10"]);
        await publishTo(broker, e.cfg, ch, "x11");
        assert.deepEqual(texts(await again.waitForMessages(6)).at(-1), "x11", "then live");
        assert.equal(await metric(edgeMetrics.resumes, { outcome: "reset" }), resets + 1);
      });

      it("sends reset for the one channel whose own history was trimmed, and resumes the others", async () => {
        const { e, broker } = await edgeWith((c) => {
          c.edge.ringSize = 2;
          c.streams.channels.maxMsgsPerSubject = 3;
        });
        const [busy, calm] = [uniq("busy"), uniq("calm")];
        const first = await connect(e, [busy, calm]);
        await publishTo(broker, e.cfg, calm, "c0");
        const last = (await first.waitForMessages(1))[0]!.id!;
        first.close();
        const afterCursor: number[] = [];
        for (let i = 1; i <= 5; i++) afterCursor.push(await publishTo(broker, e.cfg, busy, `b${i}`));
        await publishTo(broker, e.cfg, calm, "c1");
        await waitFor(() => e.hub.ringFloor > seqOf(last), { what: "the ring to roll past" });
        const again = await connect(e, [busy, calm], { "last-event-id": last });
        const got = await again.waitForMessages(4);
        assert.deepEqual(texts(got), ["b3", "b4", "b5", "c1"]);
        const reset = JSON.parse((await again.waitForEvent("reset")).data);
        assert.deepEqual(reset, {
          channels: [busy],
          from: `${e.hub.epoch}-${afterCursor[2]}`,
          reason: "history-gone",
        });
      });
    });
  });
});
