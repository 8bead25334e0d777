/**
 * The edge benchmark's load generator: its marker parser, its histogram,
 * and its tallies, checked against a scripted SSE server that loses and
 * doubles chosen messages, and against a real realer edge.
 */
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import { Histogram } from "../../bench/edge/histogram.js";
import { LoadGen } from "../../bench/edge/loadgen.js";
import { MarkerScanner, marker } from "../../bench/edge/marker.js";
import { Publisher } from "../../bench/edge/publisher.js";
import { MemoryBroker } from "../../src/broker/memory-broker.js";
import { channelSubject } from "../../src/events/channel.js";
import { encodeChannelMessage } from "../../src/events/envelope.js";
import { startStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

describe("the load generator's marker scanner", () => {
  it("finds every marker exactly once however the bytes are split", () => {
    const text = `id: 7\ndata: {"x":"${marker(12, 1795714058623123)}"}\n\nid: 8\ndata: ${marker(13, 42)}xx\n\n: hb\n\n`;
    const bytes = Buffer.from(text);
    for (let a = 0; a <= bytes.length; a++) {
      for (const b of [a, Math.min(bytes.length, a + 3), bytes.length]) {
        const found: [number, number][] = [];
        const s = new MarkerScanner();
        for (const piece of [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]) {
          s.feed(piece, (n, t) => found.push([n, t]));
        }
        assert.deepEqual(
          found,
          [
            [12, 1795714058623123],
            [13, 42],
          ],
          `split at ${a} and ${b}`,
        );
      }
    }
  });
});

describe("the load generator's latency histogram", () => {
  it("gives quantiles within 3% of the exact ones, and the exact maximum", () => {
    const h = new Histogram();
    const xs = Array.from({ length: 10_000 }, (_, i) => 50 + ((i * 7919) % 10_000) * 3.3);
    for (const x of xs) h.record(x);
    const sorted = [...xs].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      assert.ok(Math.abs(h.quantile(q) - exact) / exact < 0.03, `q${q}: ${h.quantile(q)} vs ${exact}`);
    }
    assert.equal(h.max, sorted.at(-1));
    const merged = new Histogram();
    merged.add(h.toJSON());
    merged.add(h.toJSON());
    assert.equal(merged.count, 20_000);
    assert.equal(merged.quantile(0.5), h.quantile(0.5));
  });
});

describe("the load generator against a scripted SSE server", () => {
  const subs = new Map<number, ServerResponse[]>();
  const server = createServer((req, res) => {
    const ch = Number(/\/sub\/c(\d+)/.exec(req.url ?? "")?.[1]);
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(": hello\n\n");
    subs.set(ch, [...(subs.get(ch) ?? []), res]);
  });
  after(() => {
    for (const list of subs.values()) for (const r of list) r.destroy();
    server.close();
  });

  it("counts deliveries, losses and duplicates exactly, over several processes", async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const n = 12;
    const lg = await LoadGen.start({
      host: "127.0.0.1",
      port,
      paths: Array.from({ length: n }, (_, i) => `/sub/c${i % 2}`),
      channelOf: Array.from({ length: n }, (_, i) => i % 2),
      processes: 3,
      maxPerChannel: 64,
    });
    try {
      assert.equal(lg.connected, n);
      assert.equal(lg.pids.length, 3);
      await waitFor(() => (subs.get(0)?.length ?? 0) + (subs.get(1)?.length ?? 0) === n, {
        what: "every connection",
      });
      const pub = new Publisher(2, async (ch, k, t) => {
        subs.get(ch)!.forEach((res, i) => {
          // The script: the first subscriber of channel 0 misses message 3, the second sees message 5 twice.
          if (ch === 0 && i === 0 && k === 3) return;
          const frame = `id: ${k}\ndata: {"m":"${marker(k, t)}"}\n\n`;
          res.write(frame);
          if (ch === 0 && i === 1 && k === 5) res.write(frame);
        });
        return true;
      });
      lg.measure([0, 0]);
      const sent = await pub.run(200, 100);
      assert.equal(sent.sent, 20);
      const to = [...pub.next];
      assert.deepEqual(to, [10, 10]);
      // 12 connections x 10 messages of their channel, one missed, one doubled.
      const expected = n * 10 - 1 + 1;
      const t = await waitFor(
        async () => {
          const r = await lg.report(to);
          return r.deliveries >= expected ? r : undefined;
        },
        { timeoutMs: 20_000, what: "all deliveries" },
      );
      assert.equal(t.lost, 1);
      assert.equal(t.duplicates, 1);
      assert.equal(t.deliveries, expected);
      assert.equal(t.latency.count, t.deliveries);
      assert.ok(t.latency.quantile(0.99) < 5_000_000);
      assert.equal(t.open, n);
    } finally {
      await lg.close();
    }
  });
});

describe("the load generator against a real realer edge", () => {
  it("sees every message of a channel exactly once on every connection", async () => {
    const broker = new MemoryBroker();
    const stack = await startStack(broker, { worker: false });
    try {
      const url = new URL(stack.edge!.url);
      const lg = await LoadGen.start({
        host: url.hostname,
        port: Number(url.port),
        paths: Array.from({ length: 30 }, (_, i) => `/v1/sse?channel=thread:c${i % 3}`),
        channelOf: Array.from({ length: 30 }, (_, i) => i % 3),
        processes: 2,
        maxPerChannel: 64,
      });
      try {
        assert.equal(lg.connected, 30);
        const pub = new Publisher(3, async (ch, n, t) => {
          const channel = `thread:c${ch}`;
          const data = JSON.stringify({ id: marker(n, t) });
          await broker.publish(
            channelSubject(stack.cfg.subjects.channels, channel),
            encodeChannelMessage({ channel, eventId: `e${ch}-${n}`, type: "bench", data }),
          );
          return true;
        });
        lg.measure([0, 0, 0]);
        await pub.run(300, 200);
        const to = [...pub.next];
        const t = await waitFor(
          async () => {
            const r = await lg.report(to);
            return r.lost === 0 ? r : undefined;
          },
          { timeoutMs: 20_000, what: "every message on every connection" },
        );
        assert.equal(t.deliveries, 60 * 10);
        assert.equal(t.duplicates, 0);
        assert.equal(t.strays, 0);
      } finally {
        await lg.close();
      }
    } finally {
      await stack.close();
      await broker.close();
    }
  });
});
