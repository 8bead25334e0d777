import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSseRequest } from "../../src/edge/sse-request.js";

const accept = { accept: "text/event-stream" };

describe("parsing an SSE subscribe request", () => {
  it("accepts several channels and drops repeats", () => {
    const r = parseSseRequest({ channel: ["thread:1", "user:ann", "thread:1"] }, accept, 32);
    assert.deepEqual(r, {
      channels: ["thread:1", "user:ann"],
      cursor: undefined,
      lastEventId: undefined,
      token: undefined,
    });
  });

  it("takes the cursor from the Last-Event-ID header before the query parameter", () => {
    const h = parseSseRequest(
      { channel: "a", last_event_id: "k1-5" },
      { ...accept, "last-event-id": "k1-9" },
      8,
    );
    assert.deepEqual(h.cursor, { epoch: "k1", seq: 9 });
    assert.deepEqual(parseSseRequest({ channel: "a", last_event_id: "k1-5" }, accept, 8).cursor, {
      epoch: "k1",
      seq: 5,
    });
  });

  it("still accepts a bare sequence as the cursor, read as the current epoch", () => {
    assert.deepEqual(parseSseRequest({ channel: "a" }, { ...accept, "last-event-id": "42" }, 8).cursor, {
      epoch: undefined,
      seq: 42,
    });
  });

  it("takes the token from Authorization: Bearer before the token parameter", () => {
    assert.equal(
      parseSseRequest({ channel: "a", token: "q" }, { ...accept, authorization: "Bearer h.t.s" }, 8).token,
      "h.t.s",
    );
    assert.equal(parseSseRequest({ channel: "a", token: "q.t.s" }, accept, 8).token, "q.t.s");
  });

  it("refuses a request without Accept: text/event-stream", () => {
    assert.throws(() => parseSseRequest({ channel: "a" }, {}, 8), {
      code: "REALER_ERR_NOT_EVENT_STREAM",
      statusCode: 406,
    });
  });

  it("refuses a request without channels", () => {
    assert.throws(() => parseSseRequest({}, accept, 8), { code: "REALER_ERR_NO_CHANNELS", statusCode: 400 });
  });

  for (const bad of ["a.b", "a b", "thread:", ":x", "a*", ">", "x".repeat(129), ""]) {
    it(`refuses the malformed channel name ${JSON.stringify(bad.slice(0, 12))}`, () => {
      assert.throws(() => parseSseRequest({ channel: bad }, accept, 8), {
        code: "REALER_ERR_CHANNEL_INVALID",
        statusCode: 400,
      });
    });
  }

  it("refuses more channels than the limit", () => {
    const channel = Array.from({ length: 9 }, (_, i) => `c${i}`);
    assert.throws(() => parseSseRequest({ channel }, accept, 8), {
      code: "REALER_ERR_TOO_MANY_CHANNELS",
      statusCode: 400,
    });
  });

  for (const bad of [
    "-1",
    "1.5",
    "abc",
    "1e3",
    "9".repeat(16),
    "k1-",
    "k1-x",
    "K1-5",
    "a-b-5",
    "abcdefghijklm-5",
  ]) {
    it(`refuses the malformed Last-Event-ID ${bad}`, () => {
      assert.throws(() => parseSseRequest({ channel: "a" }, { ...accept, "last-event-id": bad }, 8), {
        code: "REALER_ERR_LAST_EVENT_ID_INVALID",
        statusCode: 400,
      });
    });
  }
});
