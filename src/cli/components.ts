/**
 * The components each command runs, assembled from a broker that wiring.ts
 * chose: the streams, the event types, the worker, the edge.
 */
import type { FastifyInstance } from "fastify";
import { adminRoutes } from "../admin/routes.js";
import type { Broker } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { checkStreamLimits } from "../config/stream-limits.js";
import { registerComments } from "../demo/comments.js";
import { demoRoutes } from "../demo/routes.js";
import { createEdge } from "../edge/create-edge.js";
import type { Hub } from "../edge/hub.js";
import { EventRegistry } from "../events/registry.js";
import { ingestRoutes } from "../ingest/routes.js";
import type { Logger } from "../log/logger.js";
import type { Handler } from "../pipeline/handler.js";
import { compilePipeline } from "../pipeline/pipeline.js";
import { Producer } from "../producer/producer.js";
import { webRoutes } from "../web/routes.js";
import { checkDuplicateWindow } from "../worker/redelivery.js";
import { Worker } from "../worker/worker.js";

/** Creates or updates every stream realer uses; idempotent, run by every process at start. */
export async function ensureStreams(broker: Broker, cfg: RealerConfig): Promise<void> {
  checkStreamLimits(cfg.streams);
  const memory = !cfg.nats;
  for (const s of [cfg.streams.events, cfg.streams.channels, cfg.streams.deadLetters]) {
    await broker.ensureStream(memory ? { ...s, storage: "memory" } : s);
  }
}

export interface Domain {
  registry: EventRegistry;
  handlers: Map<string, Handler>;
}

/** The event types and handlers this build knows: the demo comments domain. */
export function loadDomain(): Domain {
  const registry = new EventRegistry();
  const handlers = registerComments(registry);
  return { registry, handlers };
}

export function createProducer(broker: Broker, cfg: RealerConfig, domain: Domain, name = "realer"): Producer {
  return new Producer({
    broker,
    registry: domain.registry,
    prefix: cfg.subjects.events,
    partitions: cfg.subjects.eventPartitions,
    name,
  });
}

export async function startWorker(
  broker: Broker,
  cfg: RealerConfig,
  domain: Domain,
  log: Logger,
): Promise<Worker> {
  checkDuplicateWindow(cfg.worker, cfg.streams.channels);
  const worker = new Worker({
    broker,
    stream: cfg.streams.events.name,
    eventPrefix: cfg.subjects.events,
    partitions: cfg.subjects.eventPartitions,
    deadLetterPrefix: cfg.subjects.deadLetters,
    config: cfg.worker,
    pipeline: compilePipeline({
      broker,
      registry: domain.registry,
      handlers: domain.handlers,
      channelPrefix: cfg.subjects.channels,
      spec: cfg.worker.pipelines,
    }),
    log: log.child({ component: "worker" }),
  });
  await worker.start();
  return worker;
}

export interface RunningEdge {
  app: FastifyInstance;
  hub: Hub;
  url: string;
}

export async function startEdge(
  broker: Broker,
  cfg: RealerConfig,
  log: Logger,
  extras: { producer?: Producer; domain?: Domain; demo?: boolean } = {},
): Promise<RunningEdge> {
  const domain = extras.domain ?? loadDomain();
  // The edge drains (cursor + jittered retry to every client) when the app closes.
  const { app, hub } = await createEdge(broker, cfg, log);
  await app.register(adminRoutes({ broker, cfg, hub, log: log.child({ component: "admin" }), domain }));
  await app.register(webRoutes());
  if (extras.producer) {
    // The embedded broker runs only in `realer dev`: there ingest may go without keys (it logs a warning).
    const ingest = { ...cfg.ingest, anonymous: cfg.ingest.anonymous || !cfg.nats };
    await app.register(
      ingestRoutes(extras.producer, domain.registry, ingest, log.child({ component: "ingest" })),
    );
    if (extras.demo) await app.register(demoRoutes(extras.producer));
  }
  const url = await app.listen({ host: cfg.edge.host, port: cfg.edge.port });
  log.info({ url }, "edge listening");
  return { app, hub, url };
}
