/**
 * HTTP ingest: `POST /v1/events` with a JSON event, so any language can
 * produce. The body is mapped onto the type's protobuf schema.
 */
import type { FastifyInstance } from "fastify";
import type { Producer } from "../producer/producer.js";

interface IngestBody {
  type: string;
  key: string;
  id?: string;
  trace_id?: string;
  data: Record<string, unknown>;
}

const schema = {
  body: {
    type: "object",
    required: ["type", "key", "data"],
    additionalProperties: false,
    properties: {
      type: { type: "string", minLength: 1, maxLength: 200 },
      key: { type: "string", minLength: 1, maxLength: 256 },
      id: { type: "string", minLength: 1, maxLength: 128 },
      trace_id: { type: "string", maxLength: 64 },
      data: { type: "object" },
    },
  },
} as const;

export function ingestRoutes(producer: Producer) {
  return async (app: FastifyInstance) => {
    app.post<{ Body: IngestBody }>("/v1/events", { schema, bodyLimit: 256 * 1024 }, async (req, reply) => {
      const b = req.body;
      const { event, ack } = await producer.emit(b.type, b.key, b.data, {
        ...(b.id ? { id: b.id } : {}),
        ...(b.trace_id ? { traceId: b.trace_id } : {}),
      });
      reply.code(202);
      return { id: event.id, seq: ack.seq, duplicate: ack.duplicate };
    });
  };
}
