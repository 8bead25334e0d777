/**
 * HTTP ingest, so any language can produce:
 * - `POST /v1/events`: one event, JSON or an encoded realer.v1.Event;
 * - `POST /v1/events/batch`: `{"events": [...]}` or an encoded realer.v1.EventBatch.
 * JSON is `application/json`; protobuf is `application/x-protobuf` (or
 * `application/protobuf`); anything else is refused with 415. The whole
 * request is validated before anything is published, so a refused request
 * stores nothing. Answers 202 with the stored sequence(s).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { IngestConfig } from "../config/config.js";
import type { Event } from "../events/envelope.js";
import type { EventRegistry } from "../events/registry.js";
import type { Logger } from "../log/logger.js";
import type { Emitted, Producer } from "../producer/producer.js";
import { keyChecker } from "./auth.js";
import {
  batchFromJson,
  batchFromProtobuf,
  eventFromJson,
  eventFromProtobuf,
  type IngestTypes,
} from "./parse.js";

const PROTOBUF = ["application/x-protobuf", "application/protobuf"];

export interface IngestResult {
  id: string;
  seq: number;
  duplicate: boolean;
}

const ingestResult = ({ event, ack }: Emitted): IngestResult => ({
  id: event.id,
  seq: ack.seq,
  duplicate: ack.duplicate,
});

const isProtobuf = (req: FastifyRequest) => Buffer.isBuffer(req.body);

/**
 * Publishes a batch: events with the same key one after another, in the
 * order given (the stream keeps per-key order); different keys concurrently.
 */
export async function publishBatch(
  producer: Producer,
  events: Event[],
  timeoutMs: number,
): Promise<IngestResult[]> {
  const out: IngestResult[] = new Array(events.length);
  const byKey = new Map<string, number[]>();
  events.forEach((e, i) => {
    const list = byKey.get(e.key);
    if (list) list.push(i);
    else byKey.set(e.key, [i]);
  });
  await Promise.all(
    [...byKey.values()].map(async (indexes) => {
      for (const i of indexes) out[i] = ingestResult(await producer.publishEvent(events[i]!, timeoutMs));
    }),
  );
  return out;
}

/**
 * The ingest routes: bodies become events of `registry`'s types, and
 * `producer` stores them (with its bounds and retries).
 */
export function ingestRoutes(producer: Producer, registry: EventRegistry, cfg: IngestConfig, log?: Logger) {
  const types: IngestTypes = { registry, producer: producer.name };
  return async (app: FastifyInstance) => {
    if (cfg.keys.length === 0 && cfg.anonymous) {
      log?.warn("ingest accepts events without an API key: set REALER_INGEST_KEYS before exposing this port");
    }
    const checkKey = keyChecker(cfg.keys, cfg.anonymous);
    // Only the two body types below: text/plain, forms and the rest get a 415.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      "application/json",
      { parseAs: "string", bodyLimit: cfg.maxBodyBytes },
      app.getDefaultJsonParser("error", "error"),
    );
    app.addContentTypeParser(
      PROTOBUF,
      { parseAs: "buffer", bodyLimit: cfg.maxBodyBytes },
      (_req, body, done) => done(null, body),
    );
    // Before the body is read: an unauthenticated client cannot make us buffer it.
    app.addHook("onRequest", async (req) => checkKey(req));

    app.post(
      "/v1/events",
      { bodyLimit: cfg.maxBodyBytes },
      async (req: FastifyRequest, reply: FastifyReply) => {
        const event = isProtobuf(req)
          ? eventFromProtobuf(types, req.body as Buffer)
          : eventFromJson(types, req.body);
        const out = ingestResult(await producer.publishEvent(event, cfg.publishTimeoutMs));
        reply.code(202);
        return out;
      },
    );

    app.post(
      "/v1/events/batch",
      { bodyLimit: cfg.maxBodyBytes },
      async (req: FastifyRequest, reply: FastifyReply) => {
        const events = isProtobuf(req)
          ? batchFromProtobuf(types, req.body as Buffer, cfg.maxBatch)
          : batchFromJson(types, req.body, cfg.maxBatch);
        const results = await publishBatch(producer, events, cfg.publishTimeoutMs);
        reply.code(202);
        return { results };
      },
    );
  };
}
