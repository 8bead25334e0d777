/**
 * `realer ingest` as its own HTTP service: the ingest routes and a health
 * check, without SSE. Returns an un-listened fastify instance (tests use port 0).
 */
import { type FastifyBaseLogger, type FastifyInstance, fastify, LogController } from "fastify";
import type { IngestConfig } from "../config/config.js";
import { NotFound } from "../errors.js";
import type { EventRegistry } from "../events/registry.js";
import { installErrorHandler } from "../http/errors.js";
import type { Logger } from "../log/logger.js";
import { brokerDown, healthAnswer } from "../metrics/health.js";
import type { Producer } from "../producer/producer.js";
import { ingestRoutes } from "./routes.js";

export interface IngestServerOptions {
  producer: Producer;
  /** The event types it accepts. */
  registry: EventRegistry;
  config: IngestConfig;
  log: Logger;
}

export async function buildIngestServer(o: IngestServerOptions): Promise<FastifyInstance> {
  const app = fastify({
    loggerInstance: o.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  installErrorHandler(app);
  app.setNotFoundHandler((req, reply) => {
    reply.send(new NotFound(req.method, req.url.split("?")[0]));
  });
  // 503 while events cannot be stored (the broker connection is down), for load balancers.
  app.get("/healthz", async (_req, reply) => {
    const { status, body } = healthAnswer({ error: brokerDown(o.producer.connected), ...o.producer.stats() });
    return reply.code(status).send(body);
  });
  await app.register(ingestRoutes(o.producer, o.registry, o.config, o.log));
  return app;
}
