/** The edge's pure parts: SSE ids, channel patterns, the ring, the response head. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { matchesChannel } from "../../src/edge/channel-pattern.js";
import { epochOf, formatId, parseId } from "../../src/edge/event-id.js";
import { Ring } from "../../src/edge/ring.js";
import { sseHead } from "../../src/edge/sse-response.js";
import type { Entry } from "../../src/edge/types.js";

describe("SSE ids", () => {
  it("round-trips <epoch>-<seq> and reads a bare sequence without an epoch", () => {
    const epoch = epochOf(Date.UTC(2026, 0, 2));
    assert.match(epoch, /^[0-9a-z]+$/);
    assert.deepEqual(parseId(formatId(epoch, 42)), { epoch, seq: 42 });
    assert.deepEqual(parseId("17"), { epoch: undefined, seq: 17 });
  });

  for (const bad of ["", "x", "-1", "a-", "A-1", "a-b-1", "1.0", "a-1e3", "a- 1", `a-${"9".repeat(16)}`]) {
    it(`refuses ${JSON.stringify(bad)} with REALER_ERR_LAST_EVENT_ID_INVALID`, () => {
      assert.throws(() => parseId(bad), { code: "REALER_ERR_LAST_EVENT_ID_INVALID", statusCode: 400 });
    });
  }
});

describe("channel patterns", () => {
  const cases: [string, string, boolean][] = [
    ["private:>", "private:ann", true],
    ["private:>", "private:ann:inbox", true],
    ["private:>", "private", false],
    ["private:>", "public:ann", false],
    ["user:*", "user:ann", true],
    ["user:*", "user:ann:x", false],
    ["team:*:secret", "team:red:secret", true],
    ["team:*:secret", "team:red:open", false],
    ["thread:42", "thread:42", true],
    ["thread:42", "thread:420", false],
  ];
  for (const [p, c, want] of cases) {
    it(`${want ? "matches" : "does not match"} ${c} with ${p}`, () => {
      assert.equal(matchesChannel(p, c), want);
    });
  }
});

describe("the ring", () => {
  const e = (seq: number, channel = "a"): Entry => ({ seq, channel, frame: Buffer.from(String(seq)) });

  it("keeps the newest entries and moves its floor to the last one it dropped", () => {
    const r = new Ring(3, 10);
    for (const s of [11, 12, 13]) r.push(e(s));
    assert.equal(r.floor, 10);
    r.push(e(14));
    r.push(e(16));
    assert.equal(r.floor, 12);
    assert.deepEqual(
      r.slice(0, 100, () => true).map((x) => x.seq),
      [13, 14, 16],
    );
  });

  it("slices (after, upTo] for the wanted channels, in order", () => {
    const r = new Ring(10, 0);
    for (let s = 1; s <= 8; s++) r.push(e(s, s % 2 ? "odd" : "even"));
    assert.deepEqual(
      r.slice(2, 7, (c) => c === "odd").map((x) => x.seq),
      [3, 5, 7],
    );
    assert.deepEqual(
      r.slice(8, 8, () => true),
      [],
    );
  });
});

describe("the SSE response head", () => {
  it("is a 200 head with the SSE headers, no length or chunked encoding, and connection: close", () => {
    const head = sseHead({ "access-control-allow-origin": "https://a.example", vary: ["Origin", "Accept"] });
    assert.equal(
      head.toString("latin1"),
      "HTTP/1.1 200 OK\r\n" +
        "access-control-allow-origin: https://a.example\r\nvary: Origin\r\nvary: Accept\r\n" +
        "content-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache, no-transform\r\n" +
        "x-accel-buffering: no\r\nconnection: close\r\n\r\n",
    );
  });

  it("lets the SSE headers win and leaves out names and values that could split the head", () => {
    const head = sseHead({
      "content-type": "text/html",
      connection: "keep-alive",
      "x-bad": "a\r\nset-cookie: x=1",
      "bad name": "v",
      "x-good": 7,
      "x-none": undefined,
    }).toString("latin1");
    assert.match(head, /content-type: text\/event-stream/);
    assert.doesNotMatch(head, /text\/html|keep-alive|set-cookie|bad name|x-none/);
    assert.match(head, /x-good: 7\r\n/);
    assert.equal(head.match(/connection:/g)?.length, 1);
  });
});
