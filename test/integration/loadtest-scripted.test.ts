/**
 * `runBench` against a scripted SSE server (node:http, so its streams use
 * chunked transfer coding) that loses, doubles and reorders chosen
 * messages, and closes chosen streams after a `drain` frame, after an
 * `error` frame and without a word: the counts must be exactly those, and
 * the subscribers must come back with their Last-Event-ID after the
 * stream's `retry:` delay, as EventSource does.
 */
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { runBench } from "../../src/loadtest/bench.js";
import { scanMarkers } from "../../src/loadtest/marker.js";

interface Sub {
  sub: number;
  res: ServerResponse;
  held?: string;
}

describe("runBench against a scripted SSE server", () => {
  const subs = new Map<number, Sub[]>();
  const history = new Map<number, [number, string][]>();
  const pending = new Map<number, Map<number, string>>();
  const next = new Map<number, number>();
  /** Last-Event-ID of every request that had one, by subscriber, with the ms since its stream closed. */
  const resumes: { sub: number; lastEventId: string; afterMs: number }[] = [];
  const closedAt = new Map<number, number>();
  const frame = (n: number, body: string) => `id: ${n}\nevent: bench\ndata: {"m":"${body}"}\n\n`;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const pub = /^\/pub\/(\d+)$/.exec(url.pathname);
    if (pub && req.method === "POST") {
      let body = "";
      req.setEncoding("utf8").on("data", (d: string) => (body += d));
      req.on("end", () => {
        const ch = Number(pub[1]);
        const m: number[] = [];
        scanMarkers(Buffer.from(body), 0, body.length, m);
        // Publishes travel over several sockets and may arrive in any order: the server puts them back in order.
        const waiting = pending.get(ch) ?? new Map<number, string>();
        pending.set(ch, waiting.set(m[1]!, body));
        for (let n = next.get(ch) ?? 0; waiting.has(n); n++) {
          const f = frame(n, waiting.get(n)!);
          waiting.delete(n);
          next.set(ch, n + 1);
          history.set(ch, [...(history.get(ch) ?? []), [n, f]]);
          for (const s of subs.get(ch) ?? []) deliver(s, n, f);
        }
        res.writeHead(202).end();
      });
      return;
    }
    const sse = /^\/sub\/(\d+)$/.exec(url.pathname);
    if (!sse) {
      res.writeHead(404).end();
      return;
    }
    const ch = Number(sse[1]);
    const sub = Number(url.searchParams.get("sub"));
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("retry: 30\n\n: hello\n\n");
    const last = req.headers["last-event-id"];
    if (typeof last === "string") {
      resumes.push({ sub, lastEventId: last, afterMs: Date.now() - (closedAt.get(sub) ?? 0) });
      for (const [n, f] of history.get(ch) ?? []) if (n > Number(last)) res.write(f);
    }
    const s: Sub = { sub, res };
    subs.set(ch, [...(subs.get(ch) ?? []), s]);
    res.on("close", () => {
      closedAt.set(sub, Date.now());
      subs.set(
        ch,
        (subs.get(ch) ?? []).filter((x) => x !== s),
      );
    });
  });

  /** The script, by subscriber index (even ones watch channel 0, odd ones channel 1). */
  function deliver(s: Sub, n: number, f: string): void {
    const end = (last: string) => {
      s.res.write(last);
      s.res.end();
    };
    if (s.sub === 0 && n === 3) return; // lost
    if (s.sub === 2 && n === 5) s.res.write(f); // doubled
    if (s.sub === 4 && n === 2) {
      s.held = f; // reordered: sent after 3
      return;
    }
    if (s.sub === 1 && n === 2) s.res.write(`event: reset\ndata: {"reason":"history-gone"}\n\n`);
    // Subscriber 3's stream is cut without a word once message 7 is on its way.
    s.res.write(f, () => {
      if (s.sub === 3 && n === 7) s.res.socket?.destroy();
    });
    if (s.sub === 4 && n === 3 && s.held) s.res.write(s.held);
    if (s.sub === 6 && n === 6) end(`id: 6\nevent: drain\nretry: 30\ndata: {"cursor":"6"}\n\n`);
    if (s.sub === 8 && n === 4) end(`event: error\ndata: {"code":"REALER_ERR_CLIENT_TOO_SLOW"}\n\n`);
  }

  let port = 0;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const list of subs.values()) for (const s of list) s.res.destroy();
    server.close();
  });

  it("counts the lost, doubled and reordered messages exactly, and resumes like EventSource", async () => {
    const seconds: number[] = [];
    const r = await runBench(
      {
        url: `http://127.0.0.1:${port}`,
        subscribers: 14,
        channels: 2,
        processes: 3,
        rate: 100,
        durationMs: 200,
        graceMs: 2_000,
        sseUrl: "/sub/{i}?sub={sub}",
        publishUrl: "/pub/{i}",
        body: "{marker}",
        contentType: "text/plain",
        // Were `retry: 30` ignored, a reconnect would wait 10 s and the messages after it would count as lost.
        retryMs: 10_000,
      },
      { onSecond: (s) => seconds.push(s.t) },
    );
    assert.equal(r.publish.sent, 20);
    assert.equal(r.publish.failed, 0);
    assert.equal(r.connect.openAtStart, 14);
    assert.equal(r.totals.expected, 14 * 10);
    assert.equal(r.totals.delivered, 14 * 10 - 1);
    assert.equal(r.totals.lost, 1);
    assert.equal(r.totals.duplicates, 1);
    assert.equal(r.totals.outOfOrder, 1);
    assert.equal(r.totals.strays, 0);
    assert.equal(r.totals.drains, 1);
    assert.equal(r.totals.errors, 1);
    assert.equal(r.totals.resets, 1);
    assert.equal(r.totals.closes, 3);
    assert.equal(r.totals.reconnects, 3);
    assert.equal(r.totals.open, 14);
    assert.equal(r.totals.subscribersWithLoss, 1);
    const row = (id: number) => r.subscribers[id]!;
    assert.equal(r.subscribers.length, 14);
    assert.deepEqual(
      [row(0).lost, row(2).duplicates, row(4).outOfOrder, row(6).drains, row(8).errors, row(1).resets],
      [1, 1, 1, 1, 1, 1],
    );
    for (const [id, s] of r.subscribers.entries()) {
      const expectedReconnects = [3, 6, 8].includes(id) ? 1 : 0;
      assert.equal(s.reconnects, expectedReconnects, `subscriber ${id}`);
      assert.equal(s.delivered, id === 0 ? 9 : 10, `subscriber ${id}`);
    }
    // They came back with the last id they had seen, after the stream's 30 ms, not the 10 s default.
    assert.deepEqual(
      resumes.map((x) => [x.sub, x.lastEventId]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [3, "7"],
        [6, "6"],
        [8, "4"],
      ],
    );
    for (const x of resumes) assert.ok(x.afterMs >= 25 && x.afterMs < 2_000, `resumed after ${x.afterMs} ms`);
    // Every second is reported once, in order, and the series adds up to the totals.
    assert.deepEqual(
      seconds,
      r.series.map((s) => s.t),
    );
    const sum = (
      k: "deliveries" | "duplicates" | "outOfOrder" | "reconnects" | "drains" | "errors" | "resets",
    ) => r.series.reduce((a, s) => a + s[k], 0);
    assert.equal(sum("deliveries"), r.totals.delivered);
    assert.equal(sum("duplicates"), 1);
    assert.equal(sum("outOfOrder"), 1);
    assert.equal(sum("reconnects"), 3);
    assert.deepEqual([sum("drains"), sum("errors"), sum("resets")], [1, 1, 1]);
    assert.equal(
      r.series.reduce((a, s) => a + s.published, 0),
      20,
    );
    assert.ok(r.latency.count === r.totals.delivered && r.latency.p99Ms !== null && r.latency.p99Ms < 5_000);
  });
});
