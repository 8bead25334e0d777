/**
 * Slow clients: a client that never reads is closed once its queue passes
 * its bound, and the edge's memory stays flat however much is published; a
 * client that reads again later finds the final `event: error` with its
 * cursor, after every frame up to that cursor. On both brokers.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Broker } from "../../src/broker/types.js";
import { edgeMetrics } from "../../src/edge/metrics.js";
import { forEachBroker } from "../helpers/brokers.js";
import { parseFrames } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { type EdgeUnderTest, metric, publishTo, seqOf, startTestEdge } from "./edge-fixture.js";

const MAX_QUEUED = 256 * 1024;
const BIG = "x".repeat(8 * 1024);

forEachBroker((_kind, sb) => {
  describe("slow clients", () => {
    let e: EdgeUnderTest;
    let broker: Broker;
    const sockets: Socket[] = [];
    before(async () => {
      broker = sb.broker;
      e = await startTestEdge(broker, (c) => {
        c.edge.maxQueuedBytes = MAX_QUEUED;
        c.edge.ringSize = 100;
        c.edge.stallTimeoutMs = 1_500;
        c.edge.closeGraceMs = 10_000;
        // The stream keeps little, so what grows would be the edge's queues.
        c.streams.channels.maxMsgs = 200;
      });
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await e?.close();
    });

    it("closes clients that never read and keeps memory flat while 32 MB per client is published", async (t) => {
      const ch = `slow:never${process.pid}`;
      const { port } = new URL(e.base);
      const CLIENTS = 24;
      for (let i = 0; i < CLIENTS; i++) {
        const s = connect(Number(port), "127.0.0.1");
        sockets.push(s);
        s.on("error", () => {});
        s.write(`GET /v1/sse?channel=${ch} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
        s.pause();
      }
      await waitFor(() => e.hub.subscribers(ch) === CLIENTS, { what: "the clients to subscribe" });
      const drops =
        (await metric(edgeMetrics.drops, { reason: "slow" })) +
        (await metric(edgeMetrics.drops, { reason: "stalled" }));
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let rssMax = rssBefore;
      let queueMax = 0;
      const MESSAGES = 4_000;
      for (let i = 0; i < MESSAGES; i++) {
        await publishTo(broker, e.cfg, ch, `${i}:${BIG}`);
        if (i % 10 === 0) {
          // Let the hub dispatch and the sockets fill before sampling.
          await new Promise((r) => setImmediate(r));
          queueMax = Math.max(queueMax, e.hub.queueStats().maxQueuedBytes);
          rssMax = Math.max(rssMax, process.memoryUsage().rss);
        }
      }
      await waitFor(() => e.hub.subscribers(ch) === 0, {
        timeoutMs: 30_000,
        what: "every never-reading client to be closed",
      });
      const after =
        (await metric(edgeMetrics.drops, { reason: "slow" })) +
        (await metric(edgeMetrics.drops, { reason: "stalled" }));
      const published = (MESSAGES * BIG.length * CLIENTS) / 2 ** 20;
      const growth = (rssMax - rssBefore) / 2 ** 20;
      t.diagnostic(
        `published ${published.toFixed(0)} MB to never-reading clients; RSS grew ${growth.toFixed(1)} MB; largest queue ${queueMax} B`,
      );
      assert.equal(after - drops, CLIENTS, "every client dropped as slow or stalled");
      assert.ok(queueMax <= 2 * MAX_QUEUED + 64 * 1024, `a connection's queue stays bounded (${queueMax} B)`);
      // Unbounded queues would hold every byte published: CLIENTS x 32 MB.
      assert.ok(
        growth < 200,
        `RSS stays flat: grew ${growth.toFixed(1)} MB while ${published.toFixed(0)} MB was published`,
      );
    });

    it("ends a slow stream with event: error, reason and cursor, after every frame up to the cursor", async () => {
      const ch = `slow:later${process.pid}`;
      let raw = "";
      let ended = false;
      const res = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
        const req = request(
          `${e.base}/v1/sse?channel=${ch}`,
          { headers: { accept: "text/event-stream" } },
          resolve,
        );
        req.on("error", reject);
        req.end();
      });
      res.setEncoding("utf8");
      res.pause();
      const resume = () => {
        res.on("data", (c: string) => {
          raw += c;
        });
        res.on("end", () => {
          ended = true;
        });
        res.on("close", () => {
          ended = true;
        });
        res.resume();
      };
      await waitFor(() => e.hub.subscribers(ch) === 1, { what: "the client to subscribe" });
      const seqs: number[] = [];
      for (let i = 0; i < 4_000 && e.hub.subscribers(ch) === 1; i++) {
        seqs.push(await publishTo(broker, e.cfg, ch, `${i}:${BIG}`));
        if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      await waitFor(() => e.hub.subscribers(ch) === 0, {
        timeoutMs: 20_000,
        what: "the edge to close the slow client",
      });
      resume();
      await waitFor(() => ended, { timeoutMs: 20_000, what: "the stream to end" });
      const frames = parseFrames(raw).frames;
      const last = frames.at(-1)!;
      assert.equal(last.event, "error");
      const err = JSON.parse(last.data);
      assert.equal(err.code, "REALER_ERR_CLIENT_TOO_SLOW");
      assert.equal(err.reason, "slow");
      const msgs = frames.filter((f) => f.id !== undefined);
      assert.ok(
        msgs.length > 0 && msgs.length < seqs.length,
        `some but not all frames arrived (${msgs.length})`,
      );
      assert.equal(err.cursor, msgs.at(-1)!.id, "the cursor names the last frame the client got");
      assert.deepEqual(
        msgs.map((f) => seqOf(f.id)),
        seqs.slice(0, msgs.length),
        "no gap before the cursor",
      );
    });
  });
});
