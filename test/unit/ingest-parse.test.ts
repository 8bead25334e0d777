/** The HTTP ingest's bodies to events, without HTTP: JSON and protobuf, single and batch, and every refusal. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CommentCreated, CommentDeleted, registerComments } from "../../src/demo/comments.js";
import { codeOf } from "../../src/errors.js";
import { createEvent, encodeEvent } from "../../src/events/envelope.js";
import { realer } from "../../src/events/proto.js";
import { EventRegistry } from "../../src/events/registry.js";
import {
  batchFromJson,
  batchFromProtobuf,
  eventFromJson,
  eventFromProtobuf,
  type IngestTypes,
} from "../../src/ingest/parse.js";

const registry = new EventRegistry();
registerComments(registry);
const types: IngestTypes = { registry, producer: "ingest-test" };

const deleted = (over: Record<string, unknown> = {}) => ({
  type: CommentDeleted.name,
  key: "thread:42",
  data: { comment_id: "c1", thread_id: "42" },
  ...over,
});

/** Asserts `fn` throws `code` with a message matching `message`. */
function refuses(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(codeOf(err), code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe("a JSON event", () => {
  it("becomes an envelope of its type and key, data in snake_case or camelCase", () => {
    for (const data of [
      { comment_id: "c1", thread_id: "42" },
      { commentId: "c1", threadId: "42" },
    ]) {
      const e = eventFromJson(types, deleted({ data }));
      assert.equal(e.type, CommentDeleted.name);
      assert.equal(e.key, "thread:42");
      assert.equal(e.producer, "ingest-test");
      assert.deepEqual(CommentDeleted.decode(e.payload), { commentId: "c1", threadId: "42" });
      assert.ok(e.id.length > 0 && e.traceId.length > 0, "an id and a trace id are filled in");
    }
  });

  it("keeps the id, trace id, occurred_at and headers it is given", () => {
    const e = eventFromJson(
      types,
      deleted({
        id: "del:c1",
        trace_id: "tr-1",
        occurred_at: 1_700_000_000_000,
        headers: { "X-Tenant": "t" },
      }),
    );
    assert.equal(e.id, "del:c1");
    assert.equal(e.traceId, "tr-1");
    assert.equal(Number(e.occurredAt), 1_700_000_000_000);
    assert.deepEqual({ ...e.headers }, { "X-Tenant": "t" });
  });

  it("maps nested messages too", () => {
    const e = eventFromJson(types, {
      type: CommentCreated.name,
      key: "thread:1",
      data: { comment: { id: "c9", thread_id: "1", author: "ann", text: "hi", created_at: 5 } },
    });
    assert.equal(CommentCreated.decode(e.payload).comment?.threadId, "1");
  });

  it("refuses a body of the wrong shape with REALER_ERR_BAD_REQUEST naming the field", () => {
    const cases: [unknown, RegExp][] = [
      [[], /^bad request: body must be a JSON object/],
      [deleted({ extra: 1 }), /extra is not a known field/],
      [deleted({ type: "" }), /type must be a non-empty string/],
      [deleted({ key: 7 }), /key must be a non-empty string/],
      [deleted({ data: "x" }), /data must be an object/],
      [deleted({ data: [] }), /data must be an object/],
      [deleted({ id: "" }), /id must be a non-empty string/],
      [deleted({ trace_id: 3 }), /trace_id must be a string/],
      [deleted({ occurred_at: -1 }), /occurred_at must be Unix milliseconds/],
      [deleted({ occurred_at: 1.5 }), /occurred_at must be Unix milliseconds/],
      [deleted({ occurred_at: "now" }), /occurred_at must be Unix milliseconds/],
      [deleted({ headers: { a: 1 } }), /headers must be an object of strings/],
      [deleted({ headers: ["a"] }), /headers must be an object of strings/],
    ];
    for (const [body, message] of cases)
      refuses(() => eventFromJson(types, body), "REALER_ERR_BAD_REQUEST", message);
  });

  it("refuses an unknown type, a misspelt data field and a broken envelope rule", () => {
    refuses(
      () => eventFromJson(types, deleted({ type: "no.such.Type" })),
      "REALER_ERR_EVENT_UNKNOWN_TYPE",
      /no\.such\.Type/,
    );
    refuses(
      () => eventFromJson(types, deleted({ data: { comment_id: "c1", thred_id: "42" } })),
      "REALER_ERR_EVENT_INVALID",
      /data\.thredId is not a field of comments\.v1\.CommentDeleted/,
    );
    refuses(
      () => eventFromJson(types, deleted({ key: "k".repeat(300) })),
      "REALER_ERR_EVENT_INVALID",
      /key must be/,
    );
    refuses(
      () => eventFromJson(types, deleted({ headers: { "Nats-Msg-Id": "x" } })),
      "REALER_ERR_HEADER_INVALID",
      /Nats-Msg-Id/,
    );
  });
});

describe("a JSON batch", () => {
  it("becomes its events in order", () => {
    const events = batchFromJson(types, { events: [deleted({ id: "a" }), deleted({ id: "b" })] }, 10);
    assert.deepEqual(
      events.map((e) => e.id),
      ["a", "b"],
    );
  });

  it("is refused whole for one bad event, naming its index", () => {
    refuses(
      () => batchFromJson(types, { events: [deleted(), deleted({ key: "" })] }, 10),
      "REALER_ERR_BAD_REQUEST",
      /events\[1\]\.key must be a non-empty string/,
    );
    refuses(
      () => batchFromJson(types, { events: [deleted(), deleted({ key: "k".repeat(300) })] }, 10),
      "REALER_ERR_EVENT_INVALID",
      /^event is invalid: events\[1\]: key must be/,
    );
  });

  it("is refused when it is not {events: [...]}, empty, or over the batch limit", () => {
    refuses(() => batchFromJson(types, [deleted()], 10), "REALER_ERR_BAD_REQUEST", /body must be \{"events"/);
    refuses(
      () => batchFromJson(types, { events: [], more: 1 }, 10),
      "REALER_ERR_BAD_REQUEST",
      /more is not a known field/,
    );
    refuses(
      () => batchFromJson(types, { events: [] }, 10),
      "REALER_ERR_BAD_REQUEST",
      /events must not be empty/,
    );
    refuses(
      () => batchFromJson(types, { events: [deleted(), deleted(), deleted()] }, 2),
      "REALER_ERR_BAD_REQUEST",
      /events has 3 entries; at most 2 are allowed/,
    );
  });
});

describe("a protobuf event", () => {
  const payload = CommentDeleted.encode({ commentId: "c1", threadId: "42" });

  it("keeps the envelope as sent and fills in what is empty", () => {
    const sent = realer.v1.Event.create({ type: CommentDeleted.name, key: "thread:42", payload });
    const e = eventFromProtobuf(types, Buffer.from(realer.v1.Event.encode(sent).finish()));
    assert.equal(e.type, CommentDeleted.name);
    assert.deepEqual(Buffer.from(e.payload), Buffer.from(payload));
    assert.equal(e.producer, "ingest-test");
    assert.ok(e.id && e.traceId && Number(e.occurredAt) > 0, "id, trace id and occurred_at filled in");

    const full = createEvent({
      type: CommentDeleted.name,
      key: "thread:42",
      payload,
      id: "p1",
      producer: "app@2",
    });
    const kept = eventFromProtobuf(types, Buffer.from(encodeEvent(full)));
    assert.deepEqual(
      [kept.id, kept.traceId, kept.producer, Number(kept.occurredAt)],
      [full.id, full.traceId, "app@2", Number(full.occurredAt)],
    );
  });

  it("refuses bytes that are no envelope, a payload that is not its type, an unknown type and a broken rule", () => {
    refuses(
      () => eventFromProtobuf(types, Buffer.from([0xff, 0xff, 0xff])),
      "REALER_ERR_EVENT_DECODE",
      /realer\.v1\.Event/,
    );
    const envelope = (o: Partial<realer.v1.IEvent>) =>
      Buffer.from(
        realer.v1.Event.encode(
          realer.v1.Event.create({ type: CommentDeleted.name, key: "k", payload, ...o }),
        ).finish(),
      );
    refuses(
      () => eventFromProtobuf(types, envelope({ payload: Uint8Array.from([0x0a, 0x05, 0x61]) })),
      "REALER_ERR_EVENT_DECODE",
      /payload is not a valid comments\.v1\.CommentDeleted/,
    );
    refuses(
      () => eventFromProtobuf(types, envelope({ type: "no.such.Type" })),
      "REALER_ERR_EVENT_UNKNOWN_TYPE",
      /no\.such/,
    );
    refuses(
      () => eventFromProtobuf(types, envelope({ key: "" })),
      "REALER_ERR_EVENT_INVALID",
      /^event is invalid: event: key must be/,
    );
  });
});

describe("a protobuf batch", () => {
  const one = (id: string, key = "thread:1") =>
    realer.v1.Event.create({
      id,
      type: CommentDeleted.name,
      key,
      payload: CommentDeleted.encode({ commentId: id, threadId: "1" }),
    });
  const batch = (events: realer.v1.Event[]) =>
    Buffer.from(realer.v1.EventBatch.encode(realer.v1.EventBatch.create({ events })).finish());

  it("becomes its events in order", () => {
    assert.deepEqual(
      batchFromProtobuf(types, batch([one("a"), one("b")]), 10).map((e) => e.id),
      ["a", "b"],
    );
  });

  it("is refused for bad bytes, emptiness, size, or one bad event naming its index", () => {
    refuses(
      () => batchFromProtobuf(types, Buffer.from([0xff, 0xff]), 10),
      "REALER_ERR_EVENT_DECODE",
      /EventBatch/,
    );
    refuses(() => batchFromProtobuf(types, batch([]), 10), "REALER_ERR_BAD_REQUEST", /must not be empty/);
    refuses(
      () => batchFromProtobuf(types, batch([one("a"), one("b")]), 1),
      "REALER_ERR_BAD_REQUEST",
      /at most 1/,
    );
    refuses(
      () => batchFromProtobuf(types, batch([one("a"), one("b", "")]), 10),
      "REALER_ERR_EVENT_INVALID",
      /events\[1\]/,
    );
  });
});
