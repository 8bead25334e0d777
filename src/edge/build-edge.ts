/**
 * The edge's HTTP face. Returns a fastify instance that is not listening
 * yet, so tests and the CLI choose the port (tests use 0).
 *
 * Routes: GET /v1/sse (the SSE stream), GET /v1/channels/:channel
 * (occupancy), GET /healthz, GET /metrics. Every refusal is a 4xx with a
 * REALER_ERR_* code, answered before the stream starts.
 */
import type { Socket } from "node:net";
import cors from "@fastify/cors";
import {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  fastify,
  LogController,
} from "fastify";
import type { EdgeConfig } from "../config/config.js";
import {
  BrokerUnavailable,
  ChannelInvalid,
  codeOf,
  EdgeDraining,
  NotFound,
  OriginForbidden,
  TooManyConnections,
} from "../errors.js";
import { isValidChannel } from "../events/channel.js";
import { installErrorHandler } from "../http/errors.js";
import type { Logger } from "../log/logger.js";
import { brokerDown, healthAnswer } from "../metrics/health.js";
import { registry } from "../metrics/registry.js";
import { AddressLimit } from "./address-limit.js";
import { SubscribeAuth } from "./auth.js";
import { Connection, failResume } from "./connection.js";
import type { Hub } from "./hub.js";
import { edgeMetrics } from "./metrics.js";
import type { Occupancy } from "./occupancy.js";
import { retryFrame } from "./sse-frame.js";
import { parseSseRequest, tokenOf } from "./sse-request.js";
import { openSseStream, SocketSink, SSE_HEADERS } from "./sse-response.js";

export interface EdgeOptions {
  hub: Hub;
  config: EdgeConfig;
  log: Logger;
  /** Counts across edges; without it, /v1/channels/:channel counts this edge only. */
  occupancy?: Occupancy;
  /** Serve GET /metrics from the process registry. Default true. */
  metricsRoute?: boolean;
}

export function buildEdge(o: EdgeOptions): FastifyInstance {
  const { hub, config } = o;
  const app = fastify({
    loggerInstance: o.log as FastifyBaseLogger,
    // SSE streams live for hours: no idle timeout on the connection.
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: a hijacked SSE request lives for hours, and
    // a child per connection costs about 0.8 KB of heap each.
    childLoggerFactory: (logger) => logger,
    routerOptions: { querystringParser: (s: string) => Object.fromEntries(groupQuery(s)) },
  });
  const auth = new SubscribeAuth(config.auth);
  const perAddress = new AddressLimit(config.maxConnectionsPerAddress);
  const anyOrigin = config.corsOrigins.includes("*");
  const origins = new Set(config.corsOrigins);
  /** Sockets carrying a stream: the edge writes to them directly, so no other response may follow. */
  const streaming = new WeakSet<Socket>();

  installErrorHandler(app);
  app.addHook("onError", async (_req, _reply, err) => {
    const code = codeOf(err);
    if (code && (err.statusCode ?? 500) < 500) edgeMetrics.refusals.inc({ code });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.send(new NotFound(req.method, req.url.split("?")[0]));
  });

  // Runs before @fastify/cors: an origin off the allow-list is refused with a code, not just left without headers.
  app.addHook("onRequest", async (req) => {
    const origin = req.headers.origin;
    if (anyOrigin || !origin || origins.has(origin) || isSameOrigin(req, origin)) return;
    throw new OriginForbidden(JSON.stringify(origin.slice(0, 200)));
  });
  void app.register(cors, {
    origin: anyOrigin ? "*" : [...origins],
    methods: ["GET", "HEAD", "POST", "OPTIONS"],
    allowedHeaders: ["Last-Event-ID", "Authorization", "Content-Type", "Accept", "Cache-Control"],
    maxAge: 600,
  });

  // For load balancers: 503 while the edge cannot serve live messages (its broker connection is
  // down) or is draining, so new clients go to another edge. The figures come either way.
  app.get("/healthz", async (_req, reply) => {
    const { status, body } = healthAnswer({
      error: hub.draining ? new EdgeDraining() : brokerDown(hub.brokerConnected),
      connections: hub.connections,
      position: hub.position,
      epoch: hub.epoch,
    });
    return reply.code(status).send(body);
  });

  if (o.metricsRoute !== false) {
    app.get("/metrics", async (_req, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  }

  app.get<{ Params: { channel: string } }>("/v1/channels/:channel", async (req) => {
    const channel = req.params.channel;
    if (!isValidChannel(channel)) throw new ChannelInvalid(JSON.stringify(channel.slice(0, 140)));
    await auth.authorize([channel], tokenOf(req.query as Record<string, unknown>, req.headers));
    return { channel, subscribers: o.occupancy ? o.occupancy.count(channel) : hub.subscribers(channel) };
  });

  app.get("/v1/sse", async (req, reply) => {
    if (hub.draining) throw new EdgeDraining();
    const r = parseSseRequest(req.query as Record<string, unknown>, req.headers, config.maxChannels);
    const grant = await auth.authorize(r.channels, r.token);
    // A HEAD request (fastify serves one for every GET route) gets the head of a stream, no stream.
    if (req.method === "HEAD") return reply.headers(SSE_HEADERS).send();
    // The stream opens once the hub reads every channel: nothing published after the client sees it open is missed.
    await ready(hub, r.channels, config.subscribeTimeoutMs);
    const socket = req.raw.socket;
    // A request pipelined behind a stream on the same socket: nothing can follow a stream, so cut it off.
    if (streaming.has(socket)) {
      reply.hijack();
      socket.destroy();
      return;
    }
    const address = req.ip;
    if (!perAddress.acquire(address)) throw new TooManyConnections(address, config.maxConnectionsPerAddress);
    reply.hijack();
    // Gone while the request was checked: its 'close' has been emitted already.
    if (socket.destroyed) {
      perAddress.release(address);
      return;
    }
    streaming.add(socket);
    // Hijacked: the head (with the headers hooks set, such as CORS) and every frame go straight to the socket.
    // Jitter spreads reconnects after an edge restart.
    openSseStream(
      socket,
      reply.getHeaders(),
      retryFrame(config.retryMs + Math.floor(Math.random() * config.retryMs)),
    );
    edgeMetrics.opened.inc();
    edgeMetrics.connections.inc();
    const conn = new Connection(new SocketSink(socket), {
      channels: r.channels,
      cursor: r.cursor ? r.cursor.seq : hub.position,
      startId: r.lastEventId,
      limits: config,
      scheduler: hub.scheduler,
      idOf: hub.idOf,
      onClose: (c, reason) => {
        hub.detach(c);
        perAddress.release(address);
        edgeMetrics.connections.dec();
        if (reason !== "client") edgeMetrics.drops.inc({ reason });
      },
    });
    if (grant.expiresAt !== undefined) conn.expireAt(grant.expiresAt, config.auth.expiringNoticeMs);
    try {
      const outcome = await hub.attach(conn, r.cursor);
      req.log.debug({ conn: conn.id, channels: r.channels, outcome }, "sse attached");
    } catch (err) {
      req.log.warn({ err, conn: conn.id }, "resume failed");
      failResume(conn);
    }
  });

  return app;
}

function isSameOrigin(req: FastifyRequest, origin: string): boolean {
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
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

/** `hub.ready`, or REALER_ERR_BROKER_UNAVAILABLE when the broker cannot take the subscriptions within `timeoutMs`. */
async function ready(hub: Hub, channels: readonly string[], timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      hub.ready(channels),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new BrokerUnavailable(`no subscription to the channels within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    throw err instanceof BrokerUnavailable
      ? err
      : new BrokerUnavailable((err as Error).message, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
