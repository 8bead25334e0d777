/**
 * The edge's channel feed when live messages go wrong, end to end (HTTP,
 * SSE, resume): faults injected into the in-memory broker's live messages
 * (dropped, held back past later ones, a stored one deleted, reads held
 * while a repair is under way), and on a real nats-server a forced gap that
 * the per-channel cap of one message makes permanent. It never freezes (a
 * gap the stream can no longer fill is said in-band and the feed moves on),
 * and never skips (no drain cursor passes a message known missing).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { MemoryBroker, memoryFaults } from "../../src/broker/memory/broker.js";
import type { LiveFaults } from "../../src/broker/memory/live.js";
import type { StoredMessage } from "../../src/broker/types.js";
import { decodeChannelMessage } from "../../src/events/envelope.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import type { SseClient } from "../helpers/sse-client.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait.js";
import { type EdgeUnderTest, publishTo, seqOf, sseOn, startTestEdge, texts } from "./edge-fixture.js";

let n = 0;
const uniq = (p: string) => `${p}${++n}${process.pid}`;
const textOf = (m: StoredMessage) => (JSON.parse(decodeChannelMessage(m.data).data) as { text: string }).text;

// Memory only: the faults are injected through the in-memory broker's own fault hooks (`memoryFaults`).
describe("channel feed faults (in-memory broker)", () => {
  const clients: SseClient[] = [];
  const edges: EdgeUnderTest[] = [];
  let broker: MemoryBroker;
  let faults: LiveFaults;
  before(() => {
    broker = new MemoryBroker();
    faults = memoryFaults(broker);
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const e of edges) await e.close();
    await broker.close();
  });

  async function edge(over: (c: EdgeUnderTest["cfg"]) => void = () => {}): Promise<EdgeUnderTest> {
    const e = await startTestEdge(broker, over);
    edges.push(e);
    return e;
  }

  it("reads a dropped live message back before its channel's next one", async () => {
    const e = await edge((c) => {
      c.edge.verifyMs = 60_000;
    });
    const a = uniq("drop");
    const c = await sseOn(e, [a], {}, clients);
    faults.drop((m) => textOf(m) === "a1");
    await publishTo(broker, e.cfg, a, "a1");
    await publishTo(broker, e.cfg, a, "a2");
    assert.deepEqual(texts(await c.waitForMessages(2)), ["a1", "a2"]);
  });

  it("finds a dropped live message with no next one by verification", async () => {
    const e = await edge((c) => {
      c.edge.verifyMs = 50;
    });
    const a = uniq("quiet");
    const c = await sseOn(e, [a], {}, clients);
    faults.drop((m) => textOf(m) === "q1");
    const seq = await publishTo(broker, e.cfg, a, "q1");
    assert.deepEqual(texts(await c.waitForMessages(1)), ["q1"]);
    await waitFor(() => e.hub.position >= seq, { what: "the verified position past it" });
  });

  it("delivers in stream order when a live message is held back past its channel's next one", async () => {
    const e = await edge((c) => {
      c.edge.verifyMs = 60_000;
    });
    const a = uniq("reorder");
    const c = await sseOn(e, [a], {}, clients);
    const hold = faults.hold((m) => textOf(m) === "r1");
    await publishTo(broker, e.cfg, a, "r1");
    await publishTo(broker, e.cfg, a, "r2");
    assert.deepEqual(texts(await c.waitForMessages(2)), ["r1", "r2"]);
    hold.release();
    await publishTo(broker, e.cfg, a, "r3");
    assert.deepEqual(
      texts(await c.waitForMessages(3)),
      ["r1", "r2", "r3"],
      "the late live copy is not sent again",
    );
  });

  it("says in-band when the missing message was deleted before it could be read, and goes on", async () => {
    const e = await edge((c) => {
      c.edge.verifyMs = 60_000;
    });
    const [a, b] = [uniq("gone"), uniq("other")];
    const ca = await sseOn(e, [a], {}, clients);
    const cb = await sseOn(e, [b], {}, clients);
    faults.drop((m) => textOf(m) === "g1");
    const hold = faults.hold((m) => textOf(m) === "g2");
    const g1 = await publishTo(broker, e.cfg, a, "g1");
    const g2 = await publishTo(broker, e.cfg, a, "g2");
    assert.ok(await broker.deleteMessage(e.cfg.streams.channels.name, g1));
    hold.release();
    const reset = JSON.parse((await ca.waitForEvent("reset")).data);
    assert.deepEqual(reset, { channels: [a], from: e.hub.idOf(g2), reason: "history-gone" });
    assert.deepEqual(texts(await ca.waitForMessages(1)), ["g2"]);
    // The feed moved on: both channels keep flowing.
    await publishTo(broker, e.cfg, a, "g3");
    await publishTo(broker, e.cfg, b, "b1");
    assert.deepEqual(texts(await ca.waitForMessages(2)), ["g2", "g3"]);
    assert.deepEqual(texts(await cb.waitForMessages(1)), ["b1"]);
    // A later resume from before the gone message is told too.
    const late = await sseOn(e, [a], { "last-event-id": e.hub.idOf(g1 - 1) }, clients);
    const again = JSON.parse((await late.waitForEvent("reset")).data);
    assert.equal(again.reason, "history-gone");
    assert.deepEqual(texts(await late.waitForMessages(2)), ["g2", "g3"]);
  });

  for (const verified of [false, true]) {
    it(`gives a draining client no cursor past a message it knows is missing (${verified ? "repaired during the drain" : "repair still blocked"}), and its resume on another edge gets everything once, in order`, async () => {
      const first = await edge((c) => {
        c.edge.verifyMs = 60_000;
        c.edge.drainVerifyMs = verified ? 10_000 : 300;
      });
      const second = await edge();
      const [a, b] = [uniq("dr"), uniq("drb")];
      const c = await sseOn(first, [a, b], {}, clients);
      await publishTo(broker, first.cfg, a, "a0");
      await c.waitForMessages(1);
      const hold = faults.hold((m) => textOf(m) === "a1");
      const openReads = faults.pauseReads();
      await publishTo(broker, first.cfg, a, "a1");
      await publishTo(broker, first.cfg, a, "a2");
      await publishTo(broker, first.cfg, b, "b1");
      // a2 shows a1 missing: the feed holds a2 and b1 while it reads a1 back (held open here).
      await waitFor(() => first.hub.subscriptions === 2 && hold.held === 1, { what: "a1 held back" });
      const closing = first.close();
      if (verified) openReads();
      await c.ended;
      if (!verified) openReads();
      await closing;
      hold.release();
      const drain = c.frames.find((f) => f.event === "drain");
      assert.ok(drain?.id, "a drain frame with a cursor");
      const seen = c.messages().filter((f) => f.event !== "drain");
      const got = texts(seen);
      assert.equal(
        seqOf(drain.id),
        seqOf(seen.at(-1)!.id),
        "the cursor is the last message sent, no further",
      );
      const resumed = await sseOn(second, [a, b], { "last-event-id": drain.id }, clients);
      const rest = 4 - got.length;
      const more = rest > 0 ? texts(await resumed.waitForMessages(rest)) : [];
      assert.deepEqual([...got, ...more], ["a0", "a1", "a2", "b1"]);
      if (verified) assert.deepEqual(got, ["a0", "a1", "a2", "b1"], "repaired before the drain frame");
      else assert.deepEqual(got, ["a0"], "nothing past the missing message before the drain frame");
      await publishTo(broker, first.cfg, b, "b2");
      assert.deepEqual(texts(await resumed.waitForMessages(rest + 1)).at(-1), "b2");
      assert.ok(!resumed.frames.some((f) => f.event === "reset"));
    });
  }
});

// JetStream only: a real connection cut (a TCP proxy between the edge and nats-server).
describe("channel feed faults (real nats-server, one message kept per channel)", () => {
  let nats: NatsServer;
  let publisher: JetStreamBroker;
  let edgeBroker: JetStreamBroker;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let e: EdgeUnderTest;
  const clients: SseClient[] = [];
  before(async () => {
    nats = await startNatsServer();
    proxy = await startTcpProxy(nats.port);
    publisher = await JetStreamBroker.connect({ servers: nats.url, name: "feed-faults-publisher" });
    edgeBroker = await JetStreamBroker.connect({ servers: proxy.url, name: "feed-faults-edge" });
    e = await startTestEdge(edgeBroker, (c) => {
      c.streams.channels.maxMsgsPerSubject = 1;
      c.edge.verifyMs = 60_000;
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await e?.close();
    await edgeBroker?.close();
    await publisher?.close();
    await proxy?.close();
    await nats?.stop();
  });

  it("says in-band that messages stored while the edge was cut off are gone, then goes on", async () => {
    const a = uniq("cap");
    const c = await sseOn(e, [a], {}, clients);
    await publishTo(publisher, e.cfg, a, "k0");
    assert.deepEqual(texts(await c.waitForMessages(1)), ["k0"]);
    // Cut the edge off from NATS: what is stored meanwhile never reaches it live, and with one
    // message kept per channel, k1 is gone from the stream once k2 is stored.
    proxy.cut();
    await waitFor(() => !edgeBroker.connected, { what: "the edge to see the disconnect" });
    await publishTo(publisher, e.cfg, a, "k1");
    const k2 = await publishTo(publisher, e.cfg, a, "k2");
    proxy.restore();
    const reset = JSON.parse((await c.waitForEvent("reset", 30_000)).data);
    assert.deepEqual(reset, { channels: [a], from: e.hub.idOf(k2), reason: "history-gone" });
    assert.deepEqual(texts(await c.waitForMessages(2, 30_000)), ["k0", "k2"]);
    await publishTo(publisher, e.cfg, a, "k3");
    assert.deepEqual(texts(await c.waitForMessages(3)), ["k0", "k2", "k3"]);
    assert.equal(c.frames.filter((f) => f.event === "reset").length, 1, "said once");
  });
});
