/**
 * Interest-based subscriptions: an edge holds one broker subscription per
 * channel with local subscribers (its count, and on JetStream the server's
 * own /connz), never one per connection, and drops it after the last
 * subscriber leaves; a channel it starts reading misses nothing published
 * once the stream is open; a resume on channels it did not read comes from
 * the stream; and a message that reaches it after later ones makes the
 * connections that passed it resume from before it. On both brokers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { type Broker, hasLiveSubjects, type LiveSubjectSource } from "../../src/broker/types.js";
import { edgeMetrics } from "../../src/edge/metrics.js";
import { forEachBroker } from "../helpers/brokers.js";
import { startNatsServer } from "../helpers/nats-server.js";
import type { SseClient } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { type EdgeUnderTest, metric, publishTo, seqOf, sseOn, startTestEdge, texts } from "./edge-fixture.js";

let n = 0;
const uniq = (p: string) => `${p}${++n}x${process.pid}`;

interface Connz {
  connections: { name?: string; subscriptions_list?: string[] }[];
}

forEachBroker(
  (kind, sb) => {
    describe("edge subscriptions", () => {
      let broker: Broker;
      const clients: SseClient[] = [];
      const edges: EdgeUnderTest[] = [];

      before(() => {
        broker = sb.broker;
      });
      after(async () => {
        for (const c of clients) c.close();
        for (const e of edges) await e.close();
      });

      async function edgeOn(b: Broker = sb.broker): Promise<EdgeUnderTest> {
        const e = await startTestEdge(b, (c) => {
          c.edge.unwatchAfterMs = 200;
        });
        edges.push(e);
        return e;
      }
      const connect = (e: EdgeUnderTest, channels: string[], headers: Record<string, string> = {}) =>
        sseOn(e, channels, headers, clients);
      /** JetStream only: the live subjects nats-server holds subscriptions for (its own /connz), over all connections, with repeats. */
      async function liveSubscriptions(): Promise<string[]> {
        const r = await fetch(`${sb.server!.monitorUrl}/connz?subs=1`);
        const z = (await r.json()) as Connz;
        return z.connections.flatMap((c) =>
          (c.subscriptions_list ?? []).filter((s) => s.startsWith("realer.live.")),
        );
      }
      /** On JetStream, waits until the server holds exactly `subjects` (nats-server's view of the hub's count). */
      async function serverHolds(subjects: string[], what: string): Promise<void> {
        if (kind !== "jetstream") return;
        const want = JSON.stringify([...subjects].sort());
        await waitFor(async () => JSON.stringify((await liveSubscriptions()).sort()) === want, { what });
      }

      it("holds one subscription per channel with local subscribers, and drops it after the last leaves", async () => {
        const e = await edgeOn();
        const [a, b, quiet] = [uniq("a"), uniq("b"), uniq("q")];
        const c1 = await connect(e, [a]);
        const c2 = await connect(e, [a]);
        const c3 = await connect(e, [a, b]);
        const prefix = `realer.live.${e.cfg.subjects.channels}`;
        assert.equal(e.hub.subscriptions, 2);
        if (kind === "jetstream") {
          // The stream opens only once the server has the subscriptions (a flush).
          assert.deepEqual((await liveSubscriptions()).sort(), [`${prefix}.${a}`, `${prefix}.${b}`].sort());
        }
        await publishTo(broker, e.cfg, a, "a1");
        await publishTo(broker, e.cfg, quiet, "nobody");
        await publishTo(broker, e.cfg, b, "b1");
        assert.deepEqual(texts(await c1.waitForMessages(1)), ["a1"]);
        assert.deepEqual(texts(await c2.waitForMessages(1)), ["a1"]);
        assert.deepEqual(texts(await c3.waitForMessages(2)), ["a1", "b1"]);
        c3.close();
        await waitFor(() => e.hub.subscriptions === 1, { what: "b's subscription to go" });
        await serverHolds([`${prefix}.${a}`], "the server to drop b's subscription");
        c1.close();
        c2.close();
        await waitFor(() => e.hub.subscriptions === 0, { what: "a's subscription to go" });
        await serverHolds([], "the server to drop a's subscription");
        assert.equal(await metric(edgeMetrics.subscriptions), 0);
      });

      it("keeps at most REALER_MAX_IDLE_CHANNELS subscriptions for channels nobody watches, the newest", async () => {
        const e = await startTestEdge(sb.broker, (c) => {
          c.edge.unwatchAfterMs = 60_000;
          c.edge.maxIdleChannels = 2;
        });
        edges.push(e);
        const names = [0, 1, 2, 3, 4].map(() => uniq("idle"));
        for (const ch of names) {
          const c = await connect(e, [ch]);
          c.close();
          await waitFor(() => e.hub.connections === 0, { what: "the edge to see the close" });
        }
        assert.equal(e.hub.subscriptions, 2);
        if (kind === "jetstream") {
          // The server's own view: exactly the two newest of these channels.
          const prefix = `realer.live.${e.cfg.subjects.channels}`;
          const held = (await liveSubscriptions()).filter((s) => names.some((n) => s === `${prefix}.${n}`));
          assert.deepEqual(held.sort(), [`${prefix}.${names[3]}`, `${prefix}.${names[4]}`].sort());
        }
      });

      it("misses nothing published right after the stream opens on a channel nobody read before", async () => {
        const e = await edgeOn();
        for (let i = 0; i < 10; i++) {
          const ch = uniq("fresh");
          const c = await connect(e, [ch]);
          await publishTo(broker, e.cfg, ch, `m${i}`);
          assert.deepEqual(texts(await c.waitForMessages(1)), [`m${i}`]);
          c.close();
        }
      });

      it("resumes channels it did not read from the stream, merged in order, then live", async () => {
        const e = await edgeOn();
        const [a, b] = [uniq("ra"), uniq("rb")];
        const s1 = await publishTo(broker, e.cfg, a, "a1");
        for (const [ch, t] of [
          [b, "b1"],
          [a, "a2"],
          [b, "b2"],
        ] as const) {
          await publishTo(broker, e.cfg, ch, t);
        }
        const c = await connect(e, [a, b], { "last-event-id": `${e.hub.epoch}-${s1}` });
        assert.deepEqual(texts(await c.waitForMessages(3)), ["b1", "a2", "b2"]);
        await publishTo(broker, e.cfg, a, "a3");
        assert.deepEqual(texts(await c.waitForMessages(4)), ["b1", "a2", "b2", "a3"]);
        const seqs = c.messages().map((f) => seqOf(f.id));
        assert.deepEqual(
          [...seqs].sort((x, y) => x - y),
          seqs,
          "in sequence order",
        );
        assert.ok(!c.frames.some((f) => f.event === "reset"));
      });

      it("makes a connection that passed a late message resume from before it, and misses nothing", async () => {
        // An edge whose live messages lose one chosen sequence, as a dropped connection would.
        let dropSeq = 0;
        const live = sb.broker;
        assert.ok(hasLiveSubjects(live));
        const lossy = new Proxy(live, {
          get(target, prop) {
            if (prop === "liveSubjects") {
              return async (stream: string) => {
                const src = (await target.liveSubjects(stream))!;
                const wrapped: LiveSubjectSource = {
                  ...src,
                  subscribe: (subject, onMessage) =>
                    src.subscribe(subject, (m, prev) => {
                      if (m.seq !== dropSeq) onMessage(m, prev);
                    }),
                };
                return wrapped;
              };
            }
            const v = Reflect.get(target, prop, target);
            return typeof v === "function" ? v.bind(target) : v;
          },
        });
        const e = await edgeOn(lossy);
        const [a, b] = [uniq("la"), uniq("lb")];
        const c = await connect(e, [a, b]);
        const late = await metric(edgeMetrics.tailRepaired, { reason: "late" });
        const rewinds = await metric(edgeMetrics.drops, { reason: "rewind" });
        const { lastSeq } = await broker.streamState(e.cfg.streams.channels.name);
        dropSeq = lastSeq + 1;
        await publishTo(broker, e.cfg, a, "a1"); // lost live
        await publishTo(broker, e.cfg, b, "b1"); // written: nothing shows a1 missing yet
        assert.deepEqual(texts(await c.waitForMessages(1)), ["b1"]);
        await publishTo(broker, e.cfg, a, "a2"); // its previous, a1, never came
        const drain = await c.waitForEvent("drain");
        assert.equal(drain.id, `${e.hub.epoch}-${dropSeq - 1}`, "the cursor goes back to just before a1");
        await c.ended;
        assert.equal(await metric(edgeMetrics.tailRepaired, { reason: "late" }), late + 1);
        assert.equal(await metric(edgeMetrics.drops, { reason: "rewind" }), rewinds + 1);
        const again = await connect(e, [a, b], { "last-event-id": drain.id! });
        assert.deepEqual(texts(await again.waitForMessages(3)), ["a1", "b1", "a2"]);
      });
    });
  },
  { server: { monitor: true } },
);

// JetStream only: it kills and restarts the nats-server, so it has a server of its own.
describe("edge subscriptions while NATS is down (real nats-server)", () => {
  it("refuses a stream it cannot subscribe for with 503 REALER_ERR_BROKER_UNAVAILABLE, and serves it once NATS is back", async () => {
    const server = await startNatsServer();
    const broker = await JetStreamBroker.connect({ servers: server.url, name: "edge-subscriptions-outage" });
    const e = await startTestEdge(broker, (c) => {
      c.nats = server.url; // file storage: the streams outlive the kill
      c.edge.subscribeTimeoutMs = 300;
    });
    const clients: SseClient[] = [];
    try {
      const ch = uniq("down");
      await server.kill();
      await waitFor(() => !broker.connected, { what: "the edge to see NATS go" });
      const r = await fetch(`${e.base}/v1/sse?channel=${ch}`, { headers: { accept: "text/event-stream" } });
      assert.equal(r.status, 503);
      const body = (await r.json()) as { code: string; message: string };
      assert.equal(body.code, "REALER_ERR_BROKER_UNAVAILABLE");
      assert.match(body.message, /no subscription to the channels within 300 ms/);
      await server.restart();
      const c = await waitFor(
        async () => {
          const attempt = await sseOn(e, [ch], {}, clients);
          if (attempt.status === 200) return attempt;
          assert.equal(attempt.status, 503);
          attempt.close();
          return undefined;
        },
        { timeoutMs: 30_000, what: "a stream once NATS is back" },
      );
      // A fresh connection, as in the restart test: JetStream takes a moment to come back after a kill.
      const writer = await JetStreamBroker.connect({
        servers: server.url,
        name: "edge-subscriptions-writer",
      });
      try {
        await waitFor(
          () =>
            publishTo(writer, e.cfg, ch, "back").then(
              () => true,
              () => false,
            ),
          {
            timeoutMs: 30_000,
            what: "a publish once JetStream is back",
          },
        );
      } finally {
        await writer.close();
      }
      assert.deepEqual(texts(await c.waitForMessages(1)), ["back"]);
    } finally {
      for (const c of clients) c.close();
      await e.close();
      await broker.close();
      await server.stop();
    }
  });
});
