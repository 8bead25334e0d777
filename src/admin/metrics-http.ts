/**
 * /metrics for every process: a route for the fastify apps (edge, dev) and a
 * small listener of its own for workers (`--metrics-port`).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { Gauge } from "prom-client";
import { type Health, healthAnswer } from "../metrics/health.js";
import { registry } from "../metrics/registry.js";

/** Hubs whose stream position this process reports; the audit compares it with the channel stream. */
const hubs = new Set<{ readonly position: number }>();

/**
 * Reports `hub.position` as realer_edge_stream_position until the returned
 * function is called. The gauge exists only in a process that has a hub: the
 * audit counts every process that reports it as an edge, and a worker's
 * /metrics must not look like an edge that received nothing.
 */
export function trackHub(hub: { readonly position: number }): () => void {
  if (!registry.getSingleMetric("realer_edge_stream_position")) {
    new Gauge({
      name: "realer_edge_stream_position",
      help: "Channel-stream sequence the edge has dispatched up to (moves by one per message received)",
      registers: [registry],
      collect() {
        if (hubs.size > 0) this.set(Math.max(...[...hubs].map((h) => h.position)));
      },
    });
  }
  hubs.add(hub);
  return () => hubs.delete(hub);
}

export async function metricsRoute(app: FastifyInstance): Promise<void> {
  if (app.hasRoute({ method: "GET", url: "/metrics" })) return;
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A listener that serves GET /metrics and, given `health`, GET /healthz (metrics/health.ts);
 * 404 otherwise.
 */
export async function startMetricsServer(
  port: number,
  host = "127.0.0.1",
  health?: () => Health,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = req.url?.split("?")[0];
    if (req.method === "GET" && path === "/healthz" && health) {
      const { status, body } = healthAnswer(health());
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404, { "content-type": "application/json" }).end(
        JSON.stringify({
          statusCode: 404,
          code: "REALER_ERR_NOT_FOUND",
          message: `no route for ${req.method} ${req.url}`,
        }),
      );
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
