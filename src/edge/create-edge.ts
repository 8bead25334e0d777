/**
 * Assembles an edge on a broker: the hub (started), occupancy sharing, and
 * the HTTP app (not listening). Closing the app drains the edge first: every
 * client is told its cursor and a jittered reconnect delay before the hub
 * stops (`realer edge` and `realer dev` close the app on SIGTERM).
 */
import type { FastifyInstance } from "fastify";
import type { Broker } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { buildEdge } from "./build-edge.js";
import { Hub } from "./hub.js";
import { Occupancy } from "./occupancy.js";

export interface Edge {
  app: FastifyInstance;
  hub: Hub;
  occupancy: Occupancy;
}

export async function createEdge(broker: Broker, cfg: RealerConfig, log: Logger): Promise<Edge> {
  let occupancy: Occupancy | undefined;
  const hub = new Hub({
    broker,
    stream: cfg.streams.channels.name,
    prefix: cfg.subjects.channels,
    maxMsgsPerChannel: cfg.streams.channels.maxMsgsPerSubject,
    ringSize: cfg.edge.ringSize,
    maxQueuedBytes: cfg.edge.maxQueuedBytes,
    heartbeatMs: cfg.edge.heartbeatMs,
    verifyMs: cfg.edge.verifyMs,
    drainVerifyMs: cfg.edge.drainVerifyMs,
    unwatchAfterMs: cfg.edge.unwatchAfterMs,
    maxIdleChannels: cfg.edge.maxIdleChannels,
    log: log.child({ component: "hub" }),
    onCountChange: (ch) => occupancy?.changed(ch),
  });
  occupancy = new Occupancy({
    broker,
    subject: cfg.edge.occupancySubject,
    intervalMs: cfg.edge.occupancyIntervalMs,
    log: log.child({ component: "occupancy" }),
    local: (ch) => hub.subscribers(ch),
    localAll: () => hub.channelCounts(),
  });
  await hub.start();
  occupancy.start();
  const app = buildEdge({ hub, config: cfg.edge, log: log.child({ component: "edge" }), occupancy });
  app.addHook("preClose", async () => {
    await hub.stop(cfg.edge.drainSpreadMs);
    occupancy.stop();
  });
  return { app, hub, occupancy };
}
