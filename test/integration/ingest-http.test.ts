/**
 * HTTP ingest on a real nats-server: JSON and protobuf, one event or a batch,
 * API keys, size limits. Every refusal is a 4xx with a catalogue code, and
 * stores nothing.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import type { Broker } from "../../src/broker/types.js";
import { ensureStreams, loadDomain } from "../../src/cli/components.js";
import type { RealerConfig } from "../../src/config/config.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { createEvent, decodeEvent, encodeEvent } from "../../src/events/envelope.js";
import { realer } from "../../src/events/proto.js";
import { buildIngestServer } from "../../src/ingest/server.js";
import { createLogger } from "../../src/log/logger.js";
import { Producer } from "../../src/producer/producer.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { testConfig } from "../helpers/stack.js";

const KEY = "test-key-0123456789";
const json = (body: unknown, key: string | null = KEY) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
  body: JSON.stringify(body),
});
const proto = (body: Uint8Array, key = KEY) => ({
  method: "POST",
  headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${key}` },
  body,
});
const comment = (thread: string, text: string) => ({
  comment: { id: randomUUID(), threadId: thread, author: "ingest", text, createdAt: Date.now() },
});
const jsonEvent = (text: string, extra: Record<string, unknown> = {}) => ({
  type: CommentCreated.name,
  key: "thread:ingest",
  data: comment("ingest", text),
  ...extra,
});
const protoEvent = (text: string) =>
  createEvent({
    type: CommentCreated.name,
    key: "thread:ingest",
    payload: CommentCreated.encode(comment("ingest", text)),
  });

/** Headers NATS would refuse, or that would steer the server. */
const BAD_HEADERS: Record<string, Record<string, string>> = {
  "a space in its name": { "X Tenant": "acme" },
  "a colon in its name": { "X:Tenant": "acme" },
  "a non-ASCII name": { "X-Tenánt": "acme" },
  "an empty name": { "": "acme" },
  "CR LF in its value": { "X-Tenant": "acme\r\nNats-Msg-Id: steer" },
  "a control character in its value": { "X-Tenant": "ac\u0001me" },
  "a reserved Nats-* name": { "Nats-Msg-Id": "steer" },
  "a reserved nats-* name in lower case": { "nats-expected-stream": "OTHER" },
};

describe("HTTP ingest on a real nats-server", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let cfg: RealerConfig;
  let app: FastifyInstance;
  let closed: FastifyInstance;
  let base: string;
  let closedBase: string;
  const lastSeq = async () => (await broker.streamState(cfg.streams.events.name)).lastSeq;
  const post = (path: string, init: RequestInit, at = base) => fetch(`${at}${path}`, init);

  before(async () => {
    server = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: server.url });
    cfg = testConfig((c) => {
      c.nats = server.url;
      c.ingest.keys = [KEY, "second-key"];
      c.ingest.maxBodyBytes = 8 * 1024;
      c.ingest.maxBatch = 10;
    });
    await ensureStreams(broker, cfg);
    const { registry } = loadDomain();
    const producer = new Producer({ broker, registry, prefix: cfg.subjects.events, name: "ingest" });
    const log = createLogger({ level: cfg.logLevel });
    app = await buildIngestServer({ producer, registry, config: cfg.ingest, log });
    base = await app.listen({ host: "127.0.0.1", port: 0 });
    // No keys and not anonymous: a production ingest someone forgot to configure.
    closed = await buildIngestServer({ producer, registry, config: { ...cfg.ingest, keys: [] }, log });
    closedBase = await closed.listen({ host: "127.0.0.1", port: 0 });
  });
  after(async () => {
    await app?.close();
    await closed?.close();
    await broker?.close();
    await server?.stop();
  });

  it("stores a JSON event and answers 202 with its sequence", async () => {
    const res = await post("/v1/events", json(jsonEvent("hello json")));
    assert.equal(res.status, 202);
    const out = (await res.json()) as { id: string; seq: number; duplicate: boolean };
    assert.equal(out.duplicate, false);
    assert.equal(await lastSeq(), out.seq);
    const stored = [];
    for await (const m of broker.read(cfg.streams.events.name, { fromSeq: out.seq, toSeq: out.seq }))
      stored.push(m);
    const e = decodeEvent(stored[0]!.data);
    assert.equal(e.id, out.id);
    assert.equal(e.type, CommentCreated.name);
    assert.equal(CommentCreated.decode(e.payload).comment?.text, "hello json");
  });

  it("answers a resend with the same id with the first sequence and stores nothing new", async () => {
    const id = `c-${randomUUID()}`;
    const body = jsonEvent("once", { id });
    const first = (await (await post("/v1/events", json(body))).json()) as { seq: number };
    const again = await post("/v1/events", json(body, "second-key"));
    assert.equal(again.status, 202);
    assert.deepEqual(await again.json(), { id, seq: first.seq, duplicate: true });
    assert.equal(await lastSeq(), first.seq);
  });

  it("maps snake_case field names, as in the .proto file, onto the schema", async () => {
    const data = {
      comment: {
        id: "c-snake",
        thread_id: "ingest",
        author: "py",
        text: "from python",
        created_at: 1_700_000_000_000,
      },
    };
    const res = await post("/v1/events", json({ type: CommentCreated.name, key: "thread:ingest", data }));
    assert.equal(res.status, 202);
    const { seq } = (await res.json()) as { seq: number };
    const stored = [];
    for await (const m of broker.read(cfg.streams.events.name, { fromSeq: seq, toSeq: seq })) stored.push(m);
    const c = CommentCreated.decode(decodeEvent(stored[0]!.data).payload).comment;
    assert.equal(c?.threadId, "ingest");
    assert.equal(c?.createdAt, 1_700_000_000_000);
  });

  it("stores a JSON batch in order and answers with every sequence", async () => {
    const res = await post(
      "/v1/events/batch",
      json({ events: [jsonEvent("b1"), jsonEvent("b2"), jsonEvent("b3")] }),
    );
    assert.equal(res.status, 202);
    const { results } = (await res.json()) as { results: { seq: number }[] };
    assert.equal(results.length, 3);
    assert.ok(
      results[0]!.seq < results[1]!.seq && results[1]!.seq < results[2]!.seq,
      "same key: stored in the order sent",
    );
    assert.equal(await lastSeq(), results[2]!.seq);
  });

  it("stores a protobuf event and a protobuf batch", async () => {
    const one = protoEvent("hello protobuf");
    const res = await post("/v1/events", proto(encodeEvent(one)));
    assert.equal(res.status, 202);
    const out = (await res.json()) as { id: string; seq: number };
    assert.equal(out.id, one.id);
    const batch = realer.v1.EventBatch.encode({ events: [protoEvent("p1"), protoEvent("p2")] }).finish();
    const res2 = await post("/v1/events/batch", proto(batch));
    assert.equal(res2.status, 202);
    const { results } = (await res2.json()) as { results: { seq: number }[] };
    assert.deepEqual(
      results.map((r) => r.seq),
      [out.seq + 1, out.seq + 2],
    );
  });

  const valid = encodeEvent(protoEvent("to be cut"));
  const badPayload = encodeEvent(
    createEvent({
      type: CommentCreated.name,
      key: "thread:ingest",
      payload: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff]),
    }),
  );
  const unknownProto = encodeEvent(
    createEvent({ type: "no.such.Type", key: "k", payload: new Uint8Array() }),
  );
  const refusals: [string, () => Promise<Response>, number, string][] = [
    [
      "malformed protobuf (a truncated envelope)",
      () => post("/v1/events", proto(valid.subarray(0, valid.length - 7))),
      422,
      "REALER_ERR_EVENT_DECODE",
    ],
    [
      "a protobuf envelope whose payload is not its type",
      () => post("/v1/events", proto(badPayload)),
      422,
      "REALER_ERR_EVENT_DECODE",
    ],
    [
      "a malformed protobuf batch",
      () => post("/v1/events/batch", proto(new Uint8Array([0x0a, 0x50, 0x01]))),
      422,
      "REALER_ERR_EVENT_DECODE",
    ],
    [
      "the wrong content type",
      () =>
        post("/v1/events", {
          method: "POST",
          headers: { "content-type": "text/plain", authorization: `Bearer ${KEY}` },
          body: "hi",
        }),
      415,
      "REALER_ERR_UNSUPPORTED_MEDIA_TYPE",
    ],
    [
      "a form body",
      () =>
        post("/v1/events", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${KEY}` },
          body: "type=x",
        }),
      415,
      "REALER_ERR_UNSUPPORTED_MEDIA_TYPE",
    ],
    [
      "a body over the size limit",
      () => post("/v1/events", json(jsonEvent("x".repeat(9000)))),
      413,
      "REALER_ERR_PAYLOAD_TOO_LARGE",
    ],
    [
      "an unknown event type (JSON)",
      () => post("/v1/events", json({ ...jsonEvent("x"), type: "no.such.Type" })),
      422,
      "REALER_ERR_EVENT_UNKNOWN_TYPE",
    ],
    [
      "an unknown event type (protobuf)",
      () => post("/v1/events", proto(unknownProto)),
      422,
      "REALER_ERR_EVENT_UNKNOWN_TYPE",
    ],
    [
      "a wrong API key",
      () => post("/v1/events", json(jsonEvent("x"), "not-a-key")),
      401,
      "REALER_ERR_INGEST_UNAUTHORIZED",
    ],
    [
      "no API key",
      () => post("/v1/events", json(jsonEvent("x"), null)),
      401,
      "REALER_ERR_INGEST_UNAUTHORIZED",
    ],
    [
      "any request when no keys are configured",
      () => post("/v1/events", json(jsonEvent("x")), closedBase),
      401,
      "REALER_ERR_INGEST_UNAUTHORIZED",
    ],
    [
      "JSON that does not parse",
      () => post("/v1/events", { ...json({}), body: '{"type": ' }),
      400,
      "REALER_ERR_BAD_REQUEST",
    ],
    [
      "an event without a key",
      () => post("/v1/events", json({ type: CommentCreated.name, data: {} })),
      400,
      "REALER_ERR_BAD_REQUEST",
    ],
    [
      "a body that does not fit the schema",
      () => post("/v1/events", json({ ...jsonEvent("x"), data: { comment: "text" } })),
      422,
      "REALER_ERR_EVENT_INVALID",
    ],
    [
      "a misspelt field that the schema would drop",
      () => post("/v1/events", json({ ...jsonEvent("x"), data: { comment: { id: "c", txt: "typo" } } })),
      422,
      "REALER_ERR_EVENT_INVALID",
    ],
    [
      "a batch with one bad event after good ones",
      () =>
        post(
          "/v1/events/batch",
          json({
            events: [jsonEvent("ok1"), jsonEvent("ok2"), { ...jsonEvent("bad"), type: "no.such.Type" }],
          }),
        ),
      422,
      "REALER_ERR_EVENT_UNKNOWN_TYPE",
    ],
    [
      "a batch over the batch limit",
      () => post("/v1/events/batch", json({ events: Array.from({ length: 11 }, () => jsonEvent("x")) })),
      400,
      "REALER_ERR_BAD_REQUEST",
    ],
    ...Object.entries(BAD_HEADERS).map(
      ([what, headers]): [string, () => Promise<Response>, number, string] => [
        `a header with ${what} (JSON)`,
        () => post("/v1/events", json(jsonEvent("x", { headers }))),
        400,
        "REALER_ERR_HEADER_INVALID",
      ],
    ),
    ...Object.entries(BAD_HEADERS).map(
      ([what, headers]): [string, () => Promise<Response>, number, string] => [
        `a header with ${what} (protobuf)`,
        () => {
          const e = protoEvent("x");
          e.headers = headers;
          return post("/v1/events", proto(encodeEvent(e)));
        },
        400,
        "REALER_ERR_HEADER_INVALID",
      ],
    ),
    [
      "a header NATS would refuse in one event of a batch",
      () =>
        post(
          "/v1/events/batch",
          json({ events: [jsonEvent("ok"), jsonEvent("bad", { headers: { "a:b": "x" } })] }),
        ),
      400,
      "REALER_ERR_HEADER_INVALID",
    ],
    [
      "an event id with a line break",
      () => post("/v1/events", json(jsonEvent("x", { id: "two\nlines" }))),
      422,
      "REALER_ERR_EVENT_INVALID",
    ],
    [
      "a trace id with a control character",
      () => post("/v1/events", json(jsonEvent("x", { trace_id: "t\u0000" }))),
      422,
      "REALER_ERR_EVENT_INVALID",
    ],
  ];
  for (const [what, send, status, code] of refusals) {
    it(`refuses ${what} with ${status} ${code} and stores nothing`, async () => {
      const before = await lastSeq();
      const res = await send();
      const body = (await res.json()) as { statusCode: number; code: string; message: string };
      assert.equal(res.status, status, body.message);
      assert.equal(body.code, code, body.message);
      assert.ok(body.message.length > 10, "a message that says what is wrong");
      assert.equal(await lastSeq(), before, "nothing stored");
    });
  }

  it("names the offending field of a batch in the message", async () => {
    const res = await post(
      "/v1/events/batch",
      json({ events: [jsonEvent("ok"), { ...jsonEvent("x"), key: "" }] }),
    );
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /events\[1\]\.key/);
    const typo = await post(
      "/v1/events/batch",
      json({ events: [jsonEvent("ok"), { ...jsonEvent("x"), data: { comment: { txt: "t" } } }] }),
    );
    assert.match(
      ((await typo.json()) as { message: string }).message,
      /events\[1\]\.data\.comment\.txt is not a field of comments\.v1\.CommentCreated/,
    );
  });

  it("answers 503 REALER_ERR_PUBLISH_TIMEOUT when the broker does not store the event in time", async () => {
    const failing = new Proxy(broker as Broker, {
      get: (t, prop) =>
        prop === "publish"
          ? () => Promise.reject(new Error("no responders"))
          : (Reflect.get(t, prop) as unknown),
    });
    const { registry } = loadDomain();
    const producer = new Producer({
      broker: failing,
      registry,
      retry: { initialDelayMs: 10, maxDelayMs: 50 },
    });
    const slow = await buildIngestServer({
      producer,
      registry,
      config: { ...cfg.ingest, publishTimeoutMs: 300 },
      log: createLogger({ level: cfg.logLevel }),
    });
    try {
      const at = await slow.listen({ host: "127.0.0.1", port: 0 });
      const res = await post("/v1/events", json(jsonEvent("x", { id: "retry-me" })), at);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, "REALER_ERR_PUBLISH_TIMEOUT");
      assert.match(body.message, /retry-me.*same id is safe/);
      assert.ok(producer.stats().retries >= 1, "it retried before answering");
    } finally {
      await slow.close();
    }
  });
});
