/**
 * Headers NATS would refuse: the producer SDK refuses them before anything
 * is stored, the in-memory broker refuses what the NATS client refuses, and
 * what a dead letter copies from producer input never fails its publish.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { carryHeaders, natsRefuses } from "../../src/broker/headers.js";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import { CommentCreated, registerComments } from "../../src/demo/comments.js";
import { codeOf } from "../../src/errors.js";
import { headerProblem } from "../../src/events/envelope-rules.js";
import { EventRegistry } from "../../src/events/registry.js";
import { Producer } from "../../src/producer/producer.js";

const BAD: Record<string, [string, string]> = {
  "a space in the name": ["X Tenant", "acme"],
  "a colon in the name": ["X:Tenant", "acme"],
  "a non-ASCII name": ["X-Tenánt", "acme"],
  "a control character in the name": ["X-\u0001", "acme"],
  "an empty name": ["", "acme"],
  "CR in the value": ["X-Tenant", "ac\rme"],
  "LF in the value": ["X-Tenant", "ac\nme"],
  "NUL in the value": ["X-Tenant", "ac\u0000me"],
  "DEL in the value": ["X-Tenant", "ac\u007fme"],
  "a tab in the value": ["X-Tenant", "ac\tme"],
  "a reserved Nats-* name": ["Nats-Msg-Id", "steer"],
  "a reserved name in another case": ["nats-expected-stream", "OTHER"],
};

const body = { comment: { id: "c1", threadId: "42", author: "ann", text: "hi", createdAt: 1 } };

describe("event headers", () => {
  it("accepts ordinary headers, non-ASCII values included", () => {
    for (const [k, v] of [
      ["X-Tenant", "acme"],
      ["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
      ["X-City", "Zürich"],
      ["x.y_z~!", ""],
    ])
      assert.equal(headerProblem(k!, v!), undefined, k);
  });

  for (const [what, [name, value]] of Object.entries(BAD)) {
    it(`makes the SDK refuse a header with ${what} (REALER_ERR_HEADER_INVALID), storing nothing`, async () => {
      const broker = new MemoryBroker();
      await broker.ensureStream({ name: "E", subjects: ["realer.events.>"] });
      const registry = new EventRegistry();
      registerComments(registry);
      const producer = new Producer({ broker, registry });
      await assert.rejects(
        producer.emit(CommentCreated, "thread:42", body, { headers: { ok: "1", [name]: value } }),
        (err: Error & { statusCode?: number }) => {
          assert.equal(codeOf(err), "REALER_ERR_HEADER_INVALID");
          assert.equal(err.statusCode, 400);
          assert.ok(err.message.includes(JSON.stringify(name)), err.message);
          return true;
        },
      );
      assert.equal((await broker.streamState("E")).lastSeq, 0);
      await broker.close();
    });
  }

  it("makes the SDK refuse an event id or a trace id with a control character", async () => {
    const broker = new MemoryBroker();
    await broker.ensureStream({ name: "E", subjects: ["realer.events.>"] });
    const producer = new Producer({ broker });
    for (const opts of [{ id: "a\r\nb" }, { traceId: "t\u0000" }])
      await assert.rejects(producer.emit(CommentCreated, "thread:42", body, opts), {
        code: "REALER_ERR_EVENT_INVALID",
      });
    await broker.close();
  });

  it("makes the in-memory broker refuse a publish with a header the NATS client refuses", async () => {
    const broker = new MemoryBroker();
    await broker.ensureStream({ name: "S", subjects: ["s.>"] });
    for (const [k, v] of [
      ["X Tenant", "a"],
      ["X-Tenant", "a\r\nb"],
    ])
      await assert.rejects(broker.publish("s.a", new Uint8Array([1]), { headers: { [k!]: v! } }), /header/);
    assert.equal((await broker.streamState("S")).lastSeq, 0);
    await broker.close();
  });

  it("carries any header as one NATS takes, encoding the refused ones and leaving out what passes the budget", () => {
    const input = Object.fromEntries(Object.values(BAD));
    input["X-Lone-Surrogate"] = "a\ud800b\n";
    input.fine = "kept as it is";
    const { headers, omitted } = carryHeaders(input, "Realer-Header-", 100_000);
    assert.equal(omitted, 0);
    assert.equal(headers.fine, "kept as it is");
    assert.equal(headers["Realer-Header-X%20Tenant"], "acme");
    assert.equal(headers["Realer-Header-Nats-Msg-Id"], "steer");
    for (const [k, v] of Object.entries(headers)) {
      assert.equal(natsRefuses(k, v), undefined, k);
      assert.equal(headerProblem(k, v), undefined, k);
    }
    const small = carryHeaders({ a: "x".repeat(50), b: "y".repeat(50), c: "z" }, "P-", 80);
    assert.deepEqual(Object.keys(small.headers), ["a", "c"]);
    assert.equal(small.omitted, 1);
  });
});
