import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { controlFrame, HEARTBEAT, messageFrame, retryFrame } from "../../src/edge/sse-frame.js";
import { parseFrames } from "../helpers/sse-client.js";

describe("SSE frames", () => {
  it("encodes a message with id, event and data", () => {
    assert.equal(
      messageFrame(7, "comment.created", '{"a":1}').toString(),
      'id: 7\nevent: comment.created\ndata: {"a":1}\n\n',
    );
  });

  it("splits data with newlines into several data lines that a client joins back", () => {
    const { frames } = parseFrames(messageFrame(1, "x", "line1\nline2\r\nline3").toString());
    assert.equal(frames[0]?.data, "line1\nline2\nline3");
  });

  it("gives control frames no id, so they do not move the client's cursor", () => {
    const { frames } = parseFrames(controlFrame("reset", { from: 3 }).toString());
    assert.equal(frames[0]?.id, undefined);
    assert.deepEqual(JSON.parse(frames[0]!.data), { from: 3 });
  });

  it("writes heartbeats as comments and retry as a field", () => {
    assert.deepEqual(parseFrames(HEARTBEAT.toString()).frames, []);
    assert.equal(parseFrames(retryFrame(1500).toString()).frames[0]?.retry, 1500);
  });
});
