/**
 * The load test's pure parts: markers, the event-stream parser (EventSource's
 * rules), chunked transfer coding, the per-subscriber tally, templates, and
 * the latency histogram.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Histogram } from "../../src/loadtest/histogram.js";
import { ChunkedDecoder, ResponseReader } from "../../src/loadtest/http-stream.js";
import { marker, scanMarkers } from "../../src/loadtest/marker.js";
import { rampSchedule, steadySchedule } from "../../src/loadtest/publisher.js";
import { type BenchSecond, recoveryTime } from "../../src/loadtest/series.js";
import { SseParser } from "../../src/loadtest/sse-parser.js";
import { SequenceTally } from "../../src/loadtest/tally.js";
import { compileTemplate, MESSAGE_VARS } from "../../src/loadtest/template.js";

interface Seen {
  type: string;
  markers: number[];
  lastId: string;
}

function parseAll(pieces: Buffer[]): { events: Seen[]; parser: SseParser } {
  const events: Seen[] = [];
  const parser: SseParser = new SseParser((type, m, count) =>
    events.push({ type, markers: m.slice(0, count * 4), lastId: parser.lastEventId }),
  );
  for (const p of pieces) parser.feed(p);
  return { events, parser };
}

/** Every way to cut `bytes` in three pieces (at a, b). */
function* splits(bytes: Buffer): Generator<Buffer[]> {
  for (let a = 0; a <= bytes.length; a++) {
    for (const b of new Set([a, Math.min(bytes.length, a + 1), Math.min(bytes.length, a + 7), bytes.length]))
      yield [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
  }
}

describe("markers", () => {
  it("finds every whole marker in a line and skips text that only looks like one", () => {
    const line = Buffer.from(
      `{"a":"${marker(3, 12, 1795714058623123, 11)}","b":"@@1|2|3@@ @@x|1|2|3@@ @@1|2||3@@ @@4|5|6|7@@"}`,
    );
    const out: number[] = [];
    assert.equal(scanMarkers(line, 0, line.length, out), 2);
    assert.deepEqual(out, [3, 12, 1795714058623123, 11, 4, 5, 6, 7]);
  });
});

describe("the event-stream parser", () => {
  const stream = Buffer.from(
    "\ufeffretry: 2731\n\n" +
      `id: e-1\nevent: comment.created\ndata: {"x":"${marker(0, 1, 10)}"}\n\n` +
      ": a heartbeat\r\n\r\n" +
      `event: reset\ndata: {"from":"e-5"}\n\n` +
      `id: e-2\r\ndata: ${marker(0, 2, 20)}\r\ndata: ${marker(0, 3, 30)}\r\n\r\n` +
      "id: e-3\revent: drain\rretry: 50\rdata: {}\r\r" +
      "id: e-4\nevent: comment.created\ndata: never dispatched",
  );

  it("reads types, ids, retry and markers the way EventSource does, however the bytes are cut", () => {
    for (const pieces of splits(stream)) {
      const { events, parser } = parseAll(pieces);
      const at = pieces.map((p) => p.length).join("+");
      assert.deepEqual(
        events,
        [
          { type: "comment.created", markers: [0, 1, 10, 0], lastId: "e-1" },
          // Frames without an id keep the last one: realer's control frames never move the cursor.
          { type: "reset", markers: [], lastId: "e-1" },
          { type: "message", markers: [0, 2, 20, 0, 0, 3, 30, 0], lastId: "e-2" },
          { type: "drain", markers: [], lastId: "e-3" },
        ],
        at,
      );
      assert.equal(parser.retryMs, 50, at);
      // An event cut off by the end of the stream is not dispatched, and its id is not taken.
      assert.equal(parser.lastEventId, "e-3", at);
    }
  });

  it("keeps the last id across a restart and drops what was half read", () => {
    const { parser, events } = parseAll([
      Buffer.from(`id: a-9\ndata: x\n\nid: a-10\ndata: ${marker(0, 1, 1)}`),
    ]);
    parser.restart();
    parser.feed(Buffer.from(`data: ${marker(0, 2, 2)}\n\n`));
    assert.equal(parser.lastEventId, "a-9");
    assert.deepEqual(
      events.map((e) => e.markers),
      [[], [0, 2, 2, 0]],
    );
  });
});

describe("chunked transfer coding", () => {
  it("gives back the body however the bytes are cut, and sees the last chunk", () => {
    const body = "data: one\n\ndata: two\n\n";
    const wire = Buffer.from(
      `b;ext=1\r\n${body.slice(0, 11)}\r\n${(body.length - 11).toString(16)}\r\n${body.slice(11)}\r\n0\r\n\r\n`,
    );
    for (const pieces of splits(wire)) {
      let out = "";
      const d = new ChunkedDecoder((b) => {
        out += b.toString();
      });
      for (const p of pieces) d.feed(p);
      assert.equal(out, body);
      assert.ok(d.done);
    }
    assert.throws(() => new ChunkedDecoder(() => {}).feed(Buffer.from("zz\r\n")), /chunk size/);
  });

  it("reads a response head and hands over the body after it", () => {
    let out = "";
    const r = new ResponseReader((b) => {
      out += b.toString();
    });
    assert.equal(r.feed(Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/event-")), undefined);
    const head = r.feed(Buffer.from("stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
    assert.equal(head?.status, 200);
    assert.equal(head?.headers["content-type"], "text/event-stream");
    r.accept();
    r.feed(Buffer.from("0\r\n\r\n"));
    assert.equal(out, "hello");
    assert.ok(r.ended);
  });
});

describe("a subscriber's tally", () => {
  it("counts a message missed, one doubled and one reordered exactly", () => {
    const t = new SequenceTally();
    // 0 1 3 2 4 4 6 7 (5 never comes, 2 comes after 3, 4 twice)
    const kinds = [0, 1, 3, 2, 4, 4, 6, 7].map((n) => t.record(n));
    assert.deepEqual(kinds, ["new", "new", "new", "late", "new", "duplicate", "new", "new"]);
    assert.equal(t.delivered, 7);
    assert.equal(t.duplicates, 1);
    assert.equal(t.outOfOrder, 1);
    assert.equal(t.missing(0, 10), 1 + 2); // 5, and 8 and 9 that never came
    assert.equal(t.missing(0, 8), 1);
    assert.equal(t.missing(6, 8), 0);
    // A failed publish is excused: it is not counted as lost.
    assert.equal(t.missing(0, 10, [5, 9]), 1);
  });

  it("counts a late message as out of order only when it was answered before the one that overtook it was sent", () => {
    const t = new SequenceTally();
    // 4 was sent while 3 was in flight (w = 3): the server could order them either way.
    assert.equal(t.record(0, 0), "new");
    assert.equal(t.record(2, 0), "new");
    assert.equal(t.record(1, 1), "overtaken");
    assert.equal(t.record(4, 3), "new");
    assert.equal(t.record(3, 3), "overtaken");
    // 6 was sent after 5 was answered (w = 6): 5 arriving after it is the server's doing.
    assert.equal(t.record(6, 6), "new");
    assert.equal(t.record(5, 5), "late");
    assert.deepEqual([t.delivered, t.outOfOrder, t.missing(0, 7)], [7, 1, 0]);
  });

  it("fills holes from either end and from the middle", () => {
    const t = new SequenceTally();
    t.record(10);
    for (const n of [0, 9, 5, 4, 6, 1, 8, 7, 3, 2]) assert.equal(t.record(n), "late");
    assert.equal(t.missing(0, 11), 0);
    assert.equal(t.outOfOrder, 10);
    assert.equal(t.record(5), "duplicate");
  });
});

describe("templates", () => {
  it("fills known placeholders, leaves JSON braces alone and refuses unknown ones", () => {
    const body = compileTemplate("body", '{"m":"{marker}","k":"thread:{channel}","n":{n}}', MESSAGE_VARS);
    assert.equal(
      body({ marker: "@@1|2|3@@", channel: "c-1", n: 2 }),
      '{"m":"@@1|2|3@@","k":"thread:c-1","n":2}',
    );
    const url = compileTemplate("url", "/pub/{channel}", MESSAGE_VARS, true);
    assert.equal(url({ channel: "a b" }), "/pub/a%20b");
    assert.throws(() => compileTemplate("body", "{nope}", MESSAGE_VARS), /unknown placeholder \{nope\}/);
  });
});

describe("publish schedules", () => {
  it("spreads a steady rate and a ramp over their duration", () => {
    const s = steadySchedule(200, 10_000);
    assert.equal(s.total, 2000);
    assert.equal(s.due(5_000), 1000);
    const r = rampSchedule(100, 300, 10_000);
    assert.equal(r.total, 2000);
    assert.equal(r.due(5_000), 750);
    assert.equal(r.due(20_000), 2000);
  });
});

describe("recovery time", () => {
  it("is the time from a fault to the first run of healthy seconds", () => {
    const second = (t: number, p99: number | null, open: number): BenchSecond =>
      ({
        t,
        atMs: 1_000_000 + t * 1000,
        p99Ms: p99,
        open,
        deliveries: p99 === null ? 0 : 10,
        published: 5,
      }) as BenchSecond;
    const series = [
      second(0, 5, 100),
      second(1, 5, 100),
      second(2, null, 60),
      second(3, 2500, 90),
      second(4, 800, 100),
      second(5, 6, 100),
      second(6, 5, 100),
      second(7, 5, 100),
    ];
    assert.equal(recoveryTime(series, 1_002_300, { maxP99Ms: 100 }), 2_700);
    assert.equal(recoveryTime(series, 1_002_300, { maxP99Ms: 1000 }), 1_700);
    assert.equal(recoveryTime(series, 1_000_500), 0 + 3_500);
    assert.equal(recoveryTime(series.slice(0, 5), 1_002_300, { maxP99Ms: 100 }), undefined);
  });

  it("counts a second with nothing sent and nothing delivered as unhealthy while the load runs", () => {
    // A stalled server: the publisher's requests hang, so it sends nothing, and nothing arrives.
    const second = (t: number, deliveries: number, published: number): BenchSecond =>
      ({
        t,
        atMs: 1_000_000 + t * 1000,
        p99Ms: deliveries ? 5 : null,
        open: 10,
        deliveries,
        published,
      }) as BenchSecond;
    const series = [second(0, 9, 9), second(1, 0, 0), second(2, 0, 0), second(3, 0, 0), second(4, 30, 9)];
    const all = [...series, second(5, 9, 9), second(6, 9, 9)];
    assert.equal(recoveryTime(all, 1_000_900), 0);
    assert.equal(recoveryTime(all, 1_000_900, { loadedUntilMs: 1_007_000 }), 3_100);
    // After the load, quiet seconds are healthy again.
    const quietEnd = [...series, second(5, 0, 0), second(6, 0, 0), second(7, 0, 0)];
    assert.equal(recoveryTime(quietEnd, 1_000_900, { loadedUntilMs: 1_005_000 }), 3_100);
  });
});

describe("the latency histogram", () => {
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
