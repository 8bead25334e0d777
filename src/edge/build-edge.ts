/**
 * The edge's HTTP face. Returns a fastify instance that is not listening
 * yet, so tests and the CLI choose the port (tests use 0).
 */
import { type FastifyBaseLogger, type FastifyInstance, fastify, LogController } from "fastify";
import { NotFound } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { EdgeConfig } from "../config/config.js";
import { Connection } from "./connection.js";
import { installErrorHandler } from "./http-errors.js";
import type { Hub } from "./hub.js";
import { parseSseRequest } from "./sse-request.js";
import { retryFrame } from "./sse-frame.js";

export interface EdgeOptions {
  hub: Hub;
  config: EdgeConfig;
  log: Logger;
}

export function buildEdge(o: EdgeOptions): FastifyInstance {
  const app = fastify({
    loggerInstance: o.log as FastifyBaseLogger,
    // SSE streams live for hours: no idle timeout on the connection.
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { querystringParser: (s: string) => Object.fromEntries(groupQuery(s)) },
  });

  installErrorHandler(app);
  app.setNotFoundHandler((req, reply) => {
    reply.send(new NotFound(req.method, req.url.split("?")[0]));
  });

  app.get("/healthz", async () => ({ ok: true, connections: o.hub.connections, position: o.hub.position }));

  app.get("/v1/sse", async (req, reply) => {
    const { channels, cursor } = parseSseRequest(req.query as Record<string, unknown>, req.headers, o.config.maxChannels);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.socket?.setNoDelay(true);
    // Jitter spreads reconnects after an edge restart.
    res.write(retryFrame(o.config.retryMs + Math.floor(Math.random() * o.config.retryMs)));
    const conn = new Connection(
      res,
      channels,
      cursor ?? o.hub.position,
      { maxQueuedBytes: 1 << 20, maxMailbox: 10_000 },
      (c) => o.hub.detach(c),
    );
    try {
      const outcome = await o.hub.attach(conn, cursor);
      req.log.debug({ conn: conn.id, channels, cursor, outcome }, "sse attached");
    } catch (err) {
      req.log.warn({ err, conn: conn.id }, "resume failed");
      conn.fail("resume-failed", "could not read history; reconnect to retry");
    }
  });

  return app;
}

/** Repeated query keys become arrays (`channel=a&channel=b`). */
function groupQuery(s: string): Map<string, string | string[]> {
  const out = new Map<string, string | string[]>();
  for (const [k, v] of new URLSearchParams(s)) {
    const prev = out.get(k);
    out.set(k, prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]);
  }
  return out;
}
