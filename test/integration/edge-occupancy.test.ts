/**
 * Occupancy: GET /v1/channels/:channel answers the subscribers of a channel
 * across every edge. Edges share their counts over the broker's signals
 * (NATS core on JetStream), each edge with a broker connection of its own,
 * as separate edge processes would have. On both brokers.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Broker } from "../../src/broker/types.js";
import { forEachBroker } from "../helpers/brokers.js";
import { type SseClient, sseConnect } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { type EdgeUnderTest, sseOn, startTestEdge } from "./edge-fixture.js";

async function count(e: EdgeUnderTest, ch: string): Promise<number> {
  const r = await fetch(`${e.base}/v1/channels/${ch}`);
  assert.equal(r.status, 200);
  const body = (await r.json()) as { channel: string; subscribers: number };
  assert.equal(body.channel, ch);
  return body.subscribers;
}

const expectCount = (e: EdgeUnderTest, ch: string, n: number, what: string) =>
  waitFor(async () => (await count(e, ch)) === n, { timeoutMs: 15_000, what });

forEachBroker((_kind, sb) => {
  describe("occupancy across edges", () => {
    const brokers: Broker[] = [];
    const edges: EdgeUnderTest[] = [];
    const clients: SseClient[] = [];
    after(async () => {
      for (const c of clients) c.close();
      for (const e of edges) await e.close();
    });
    async function edge(intervalMs: number): Promise<EdgeUnderTest> {
      const b = await sb.connect("occupancy-test");
      brokers.push(b);
      const e = await startTestEdge(b, (c) => {
        c.edge.occupancyIntervalMs = intervalMs;
      });
      edges.push(e);
      return e;
    }
    const subscribe = (e: EdgeUnderTest, ...channels: string[]): Promise<SseClient> =>
      sseOn(e, channels, {}, clients);

    it("counts every edge's subscribers exactly, and follows joins, leaves and an edge's shutdown", async () => {
      // A long interval: counts must travel with the changes, not with the periodic snapshot.
      const [a, b] = [await edge(60_000), await edge(60_000)];
      const ch = "room:one";
      for (let i = 0; i < 3; i++) await subscribe(a, ch);
      const onB = [await subscribe(b, ch), await subscribe(b, ch, "room:two")];
      await expectCount(a, ch, 5, "edge A to count 5");
      await expectCount(b, ch, 5, "edge B to count 5");
      assert.equal(await count(a, "room:two"), 1);
      assert.equal(await count(a, "room:none"), 0);
      onB[0]!.close();
      await expectCount(a, ch, 4, "edge A to see a client leave edge B");
      await b.close();
      await expectCount(a, ch, 3, "edge A to drop the counts of a stopped edge");
      assert.equal(await count(a, "room:two"), 0);
    });

    it("tells a newly started edge the counts of the others at once", async () => {
      const a = await edge(60_000);
      const ch = "room:late";
      await subscribe(a, ch);
      await subscribe(a, ch);
      await expectCount(a, ch, 2, "edge A to count its own");
      const late = await edge(60_000);
      await expectCount(late, ch, 2, "the new edge to learn edge A's counts");
    });

    it("forgets an edge that went silent after three intervals", async () => {
      const a = await edge(300);
      const b = await edge(300);
      const ch = "room:silent";
      await subscribe(b, ch);
      await expectCount(a, ch, 1, "edge A to count edge B's client");
      // Cut B off from NATS without a goodbye, as if its process died.
      await brokers[brokers.length - 1]!.close();
      await expectCount(a, ch, 0, "edge A to forget the silent edge");
    });
  });

  describe("occupancy on one edge", () => {
    it("counts the local subscribers of a channel", async () => {
      const e = await startTestEdge(sb.broker);
      const c1 = await sseConnect(`${e.base}/v1/sse?channel=solo`);
      const c2 = await sseConnect(`${e.base}/v1/sse?channel=solo&channel=duo`);
      try {
        await expectCount(e, "solo", 2, "two subscribers");
        assert.equal(await count(e, "duo"), 1);
        c1.close();
        await expectCount(e, "solo", 1, "one left");
      } finally {
        c2.close();
        await e.close();
      }
    });
  });
});
