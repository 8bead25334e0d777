/**
 * The admin API and the live admin page, mounted on an edge (and `realer
 * dev`). The page itself is public (it holds no data); every /admin/api
 * call needs `Authorization: Bearer <REALER_ADMIN_TOKEN>`.
 *
 *   GET  /admin                  the page
 *   GET  /admin/api/overview     connections, stage counters, lag, dead letters, audit balance
 *   GET  /admin/api/dlq          the oldest dead letters
 *   POST /admin/api/replay       start a replay (202 + checkpoint), or a dry run (200 + diff)
 *   GET  /admin/api/replays      every replay's checkpoint; /admin/api/replays/:id one
 */
import { readFile } from "node:fs/promises";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { AdminBroker, Broker } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { Internal } from "../errors.js";
import type { EventRegistry } from "../events/registry.js";
import type { Logger } from "../log/logger.js";
import { DeadLetters } from "../ops/dlq.js";
import type { Handler } from "../pipeline/handler.js";
import { CheckpointStore } from "../replay/checkpoint.js";
import { dryRun } from "../replay/dry-run.js";
import { planReplay, type ReplayContext, run } from "../replay/replayer.js";
import type { ReplayRequest } from "../replay/types.js";
import { checkAdminToken } from "./auth.js";
import { metricsRoute, trackHub } from "./metrics-http.js";
import { type EdgeView, OverviewSource } from "./overview.js";

export interface AdminOptions {
  broker: Broker;
  cfg: RealerConfig;
  /** The edge's hub, when this process serves SSE. */
  hub?: EdgeView;
  log: Logger;
  domain: { registry: EventRegistry; handlers: ReadonlyMap<string, Handler> };
}

const PAGE = new URL("./page/", import.meta.url);
const ASSETS: Record<string, string> = {
  "admin.html": "text/html; charset=utf-8",
  "admin.js": "text/javascript; charset=utf-8",
  "admin.css": "text/css; charset=utf-8",
};

function asAdmin(b: Broker): AdminBroker {
  const a = b as Partial<AdminBroker>;
  if (typeof a.consumerState !== "function" || typeof a.getMessage !== "function") {
    throw new Internal("the broker lacks the operator capabilities (BrokerAdmin)");
  }
  return b as AdminBroker;
}

const replayBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    mode: { enum: ["events", "channel"] },
    fromSeq: { type: "integer", minimum: 1 },
    toSeq: { type: "integer", minimum: 1 },
    since: { type: "integer", minimum: 0 },
    until: { type: "integer", minimum: 0 },
    type: { type: "string", minLength: 1, maxLength: 256 },
    key: { type: "string", minLength: 1, maxLength: 256 },
    channel: { type: "string", minLength: 1, maxLength: 128 },
    rate: { type: "integer", minimum: 0 },
    dryRun: { type: "boolean" },
  },
} as const;

export function adminRoutes(o: AdminOptions): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const broker = asAdmin(o.broker);
    const overview = new OverviewSource(broker, o.cfg, o.hub);
    const checkpoints = new CheckpointStore(
      broker,
      o.cfg.nats ? "file" : "memory",
      o.cfg.streams.events.replicas,
    );
    const running = new Map<string, AbortController>();
    if (o.hub) {
      const untrack = trackHub(o.hub);
      app.addHook("onClose", async () => untrack());
    }
    app.addHook("onClose", async () => {
      for (const ac of running.values()) ac.abort();
    });
    await metricsRoute(app);

    const cache = new Map<string, Buffer>();
    const page =
      (name: string) =>
      async (_req: unknown, reply: { type(t: string): unknown; header(k: string, v: string): unknown }) => {
        let b = cache.get(name);
        if (!b) {
          b = await readFile(new URL(name, PAGE));
          cache.set(name, b);
        }
        reply.type(ASSETS[name]!);
        reply.header("cache-control", "no-store");
        return b;
      };
    app.get("/admin", page("admin.html"));
    app.get("/admin/admin.js", page("admin.js"));
    app.get("/admin/admin.css", page("admin.css"));

    await app.register(async (api) => {
      api.addHook("onRequest", async (req) => checkAdminToken(o.cfg.admin.token, req));

      api.get("/admin/api/overview", async () => overview.read());

      api.get("/admin/api/dlq", async () => {
        const dl = new DeadLetters(broker, o.cfg);
        return { count: await dl.count(), oldest: await dl.list({}, 50) };
      });

      api.get("/admin/api/replays", async () => checkpoints.list());
      api.get<{ Params: { id: string } }>("/admin/api/replays/:id", async (req) =>
        checkpoints.load(req.params.id),
      );

      api.post<{ Body: ReplayRequest & { dryRun?: boolean } }>(
        "/admin/api/replay",
        { schema: { body: replayBody } },
        async (req, reply) => {
          const { dryRun: dry, ...rest } = req.body;
          const request: ReplayRequest = { ...rest, mode: rest.mode ?? "events" };
          const ctx: ReplayContext = {
            broker,
            cfg: o.cfg,
            registry: o.domain.registry,
            handlers: o.domain.handlers,
            checkpoints,
            log: o.log,
          };
          if (dry) return dryRun(ctx, request);
          const cp = await planReplay(ctx, request);
          await checkpoints.save(cp);
          const ac = new AbortController();
          running.set(cp.id, ac);
          run({ ...ctx, signal: ac.signal }, cp)
            .catch((err: unknown) => o.log.error({ err, replay: cp.id }, "replay failed"))
            .finally(() => running.delete(cp.id));
          reply.code(202);
          return cp;
        },
      );
    });
  };
}
