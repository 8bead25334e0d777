/**
 * The envelope rules (src/events/envelope-rules.ts) are one statement, applied
 * alike by the producer SDK, the HTTP ingest's parser and the worker's
 * validate stage: an envelope one of them refuses, the others refuse too.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { firstValueFrom, from, toArray } from "rxjs";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { codeOf } from "../../src/errors.js";
import { checkEnvelope, MAX_ID_LENGTH, MAX_KEY_LENGTH } from "../../src/events/envelope-rules.js";
import { eventFromJson } from "../../src/ingest/parse.js";
import { compileStages } from "../../src/pipeline/compile.js";
import { validate } from "../../src/pipeline/validate.js";
import { Producer } from "../../src/producer/producer.js";
import { commentEvent, decodedJob, domain, outcome } from "./stage-fixtures.js";

const { registry, handlers } = domain();
const body = { comment: { id: "c1", threadId: "1", author: "ann", text: "hi", createdAt: 1 } };

/** Envelope fields that break one rule each, and the code every checker answers with. */
const broken: [string, { key?: string; id?: string; traceId?: string; headers?: Record<string, string> }][] =
  [
    ["an empty key", { key: "" }],
    ["an over-long key", { key: "k".repeat(MAX_KEY_LENGTH + 1) }],
    ["an empty id", { id: "" }],
    ["an over-long id", { id: "i".repeat(MAX_ID_LENGTH + 1) }],
    ["an id with a line break", { id: "two\nlines" }],
    ["an over-long trace id", { traceId: "t".repeat(65) }],
    ["a trace id with a control character", { traceId: "t\u0000" }],
    ["a header name with a space", { headers: { "bad name": "x" } }],
    ["a reserved Nats-* header", { headers: { "Nats-Msg-Id": "steer" } }],
  ];

const codeOfThrown = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return codeOf(err);
  }
  return undefined;
};

describe("envelope rules", () => {
  it("accept an envelope as producers make it, with or without its id and trace id filled in", () => {
    checkEnvelope({ type: CommentCreated.name, key: "thread:1" });
    checkEnvelope(commentEvent("1", "x"));
    checkEnvelope({ ...commentEvent("1", "x"), traceId: "" });
  });

  for (const [what, fields] of broken) {
    const headerRule = fields.headers !== undefined;
    it(`refuse ${what} alike in the SDK, the ingest and the validate stage`, async () => {
      const expected = headerRule ? "REALER_ERR_HEADER_INVALID" : "REALER_ERR_EVENT_INVALID";
      const key = fields.key ?? "thread:1";
      assert.equal(
        codeOfThrown(() => checkEnvelope({ type: CommentCreated.name, key, ...fields })),
        expected,
      );

      const producer = new Producer({ broker: new MemoryBroker(), registry });
      const { key: _, ...opts } = fields;
      assert.equal(
        codeOfThrown(() => producer.build(CommentCreated, key, body as never, opts)),
        expected,
      );

      const json = {
        type: CommentCreated.name,
        key,
        data: body,
        ...(fields.id !== undefined ? { id: fields.id } : {}),
        ...(fields.traceId !== undefined ? { trace_id: fields.traceId } : {}),
        ...(fields.headers ? { headers: fields.headers } : {}),
      };
      // In JSON an empty required field is a malformed request, named as such.
      const empty = fields.key === "" || fields.id === "";
      assert.equal(
        codeOfThrown(() => eventFromJson({ registry, producer: "test" }, json)),
        empty ? "REALER_ERR_BAD_REQUEST" : expected,
      );

      // The worker: an event written straight onto the stream, which no producer checked.
      const stored = commentEvent("1", "x", fields);
      const [out] = await firstValueFrom(
        from([decodedJob(stored)]).pipe(compileStages([validate(handlers)]), toArray()),
      );
      assert.equal(outcome(out!), "fail:validate:REALER_ERR_EVENT_INVALID:drop");
    });
  }
});
