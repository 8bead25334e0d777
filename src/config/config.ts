/**
 * Configuration: typed, every field with its default and unit. Only this
 * folder reads `process.env`. `defaultConfig()` returns a fresh object each
 * call; `configFromEnv()` never mutates its inputs.
 */

import type { StreamSpec } from "../broker/types.js";
import { ConfigInvalid } from "../errors.js";
import { applyStreamLimits, DEFAULT_DUPLICATE_WINDOW_MS, embeddedStreamLimits } from "./stream-limits.js";

export interface SubjectConfig {
  /** Events are published to `<events>.p<N>.<type>`, N a partition of the key (events/partition.ts). Default "realer.events". */
  events: string;
  /**
   * Partitions of the events stream: a key's events are processed one at a
   * time, in order, across all workers; different partitions in parallel.
   * Producers and workers must agree. Default 64.
   */
  eventPartitions: number;
  /** Channel messages are published to `<channels>.<channel>`. Default "realer.ch". */
  channels: string;
  /** Dead letters go to `<deadLetters>.<type>`. Default "realer.dlq". */
  deadLetters: string;
  /**
   * The channel stream republishes what it stores under `<live>.<subject>`;
   * edges read live messages there (broker/live-tail.ts). Default "realer.live".
   */
  live: string;
}

export interface WorkerConfig {
  /** Durable consumer name shared by every worker process. Default "realer-worker". */
  durable: string;
  /**
   * How long a claim lasts without an ack or in-progress signal, ms. Default
   * 20000: with 5 deliveries and the retry delays, an event's outputs are
   * stored again at the latest 107.5 s after the first time, inside the
   * channel stream's 120 s duplicate window (worker/redelivery.ts).
   */
  ackWaitMs: number;
  /** Deliveries before an event is dead-lettered. Default 5. */
  maxDeliver: number;
  /** Unsettled events one worker holds at most. Default 256. */
  maxInFlight: number;
  /** How long one pull waits for events, ms. Default 5000. */
  fetchExpiresMs: number;
  /**
   * The longest an ack of a processed event waits to share a socket write with
   * others, ms (a batch of an eighth of maxInFlight goes at once). 0: at the end
   * of the event-loop turn. Default 20.
   */
  ackDelayMs: number;
  /** First retry delay after a passing failure, ms; doubles per attempt. Default 500. */
  retryDelayMs: number;
  /** Longest retry delay, ms. Default 30000. */
  maxRetryDelayMs: number;
  /**
   * Stage lists by event type ("*": every type without its own), by stage
   * name; see docs/stages.md. Default {}: every type runs the standard stages.
   */
  pipelines: Record<string, string[]>;
}

export interface EdgeConfig {
  /** Listen address. Default "127.0.0.1". */
  host: string;
  /** Listen port; 0 picks a free one. Default 8080. */
  port: number;
  /** Interval between heartbeat comments on every SSE connection, ms. Default 15000. */
  heartbeatMs: number;
  /** Base reconnect delay sent as `retry:`, ms. Default 2000. */
  retryMs: number;
  /** Channels one connection may subscribe to. Default 32. */
  maxChannels: number;
  /** Recent channel messages kept in memory for fast resume. Default 10000. */
  ringSize: number;
  /** How often the edge verifies what it handed over against the channel stream, ms. Default 1000. */
  verifyMs: number;
  /** How long a channel nobody on the edge watches keeps its subscription, for clients that come back, ms. Default 30000. */
  unwatchAfterMs: number;
  /** Most channels an edge keeps subscribed with no local subscriber (the oldest go first). Default 10000. */
  maxIdleChannels: number;
  /** How long an SSE request waits for its channels' subscriptions before a 503, ms. Default 10000. */
  subscribeTimeoutMs: number;
  /** SSE connections one client address may hold on one edge process; 0: no limit. Default 1000. */
  maxConnectionsPerAddress: number;
  /** Bytes queued for one connection (with the socket's unsent bytes) before it is closed as too slow. Default 262144. */
  maxQueuedBytes: number;
  /** Frames queued for one connection before it is closed as too slow. Default 4096. */
  maxQueuedFrames: number;
  /** How long a connection's socket may stay blocked before it is closed as stalled, ms. Default 30000. */
  stallTimeoutMs: number;
  /** After a final frame, how long a client has to read it before its socket is destroyed, ms. Default 5000. */
  closeGraceMs: number;
  /** On shutdown every client is told to reconnect after a random delay up to this, ms. Default 5000. */
  drainSpreadMs: number;
  /** How long a drain waits for the edge to verify what it delivered before it hands out cursors, ms. Default 5000. */
  drainVerifyMs: number;
  /** Origins allowed to subscribe from another site; ["*"] allows any. Default ["*"]. */
  corsOrigins: string[];
  /** Core NATS subject prefix on which edges share subscriber counts. Default "realer.occupancy". */
  occupancySubject: string;
  /** How often an edge re-announces all of its counts (others forget it after 3 silent intervals), ms. Default 5000. */
  occupancyIntervalMs: number;
  /** Subscribe tokens for private channels. */
  auth: EdgeAuthConfig;
}

export interface EdgeAuthConfig {
  /** Channel patterns that need a token (`*` one segment, a final `>` the rest). Default ["private:>"]. */
  privateChannels: string[];
  /** Secret for HS256/HS384/HS512 tokens; undefined: none accepted. Default undefined. */
  hmacSecret: string | undefined;
  /** PEM public key (SPKI) for RS*, PS*, ES* and EdDSA tokens; undefined: none accepted. Default undefined. */
  publicKey: string | undefined;
  /** Required `iss` claim, when set. Default undefined. */
  issuer: string | undefined;
  /** Required `aud` claim, when set. Default undefined. */
  audience: string | undefined;
  /** `event: auth-expiring` is sent this long before a token expires, ms. Default 60000. */
  expiringNoticeMs: number;
}

export interface IngestConfig {
  /** API keys accepted by `POST /v1/events` (REALER_INGEST_KEYS, comma separated). Default none. */
  keys: string[];
  /** Accept events without a key while `keys` is empty; only `realer dev` turns it on. Default false. */
  anonymous: boolean;
  /** Largest request body, bytes (REALER_INGEST_MAX_BYTES). Default 1048576. */
  maxBodyBytes: number;
  /** Most events in one batch (REALER_INGEST_MAX_BATCH). Default 500. */
  maxBatch: number;
  /** How long a request waits for the broker to store its events before a 503, ms. Default 10000. */
  publishTimeoutMs: number;
}

export interface AdminConfig {
  /** Bearer token for the admin API and page (REALER_ADMIN_TOKEN); undefined turns them off. */
  token: string | undefined;
  /** /metrics URLs of other processes the admin page and audit read (REALER_METRICS_URLS, comma separated). */
  metricsUrls: string[];
  /** Port of the worker's /metrics listener (REALER_METRICS_PORT); undefined: none. */
  metricsPort: number | undefined;
}

export interface RealerConfig {
  /** NATS URL(s); undefined runs on the embedded in-memory broker. */
  nats: string | undefined;
  subjects: SubjectConfig;
  streams: { events: StreamSpec; channels: StreamSpec; deadLetters: StreamSpec };
  worker: WorkerConfig;
  edge: EdgeConfig;
  ingest: IngestConfig;
  /** pino level. Default "info". */
  logLevel: string;
  admin: AdminConfig;
}

const DAY_MS = 86_400_000;
/** JetStream's limit on a stream's replicas. */
const MAX_REPLICAS = 5;

export function defaultConfig(): RealerConfig {
  const subjects: SubjectConfig = {
    events: "realer.events",
    eventPartitions: 64,
    channels: "realer.ch",
    deadLetters: "realer.dlq",
    live: "realer.live",
  };
  return {
    nats: undefined,
    subjects,
    streams: {
      events: {
        name: "REALER_EVENTS",
        subjects: [`${subjects.events}.>`],
        maxAgeMs: 7 * DAY_MS,
        duplicateWindowMs: DEFAULT_DUPLICATE_WINDOW_MS,
      },
      channels: {
        name: "REALER_CHANNELS",
        subjects: [`${subjects.channels}.>`],
        maxAgeMs: DAY_MS,
        maxMsgsPerSubject: 1000,
        duplicateWindowMs: DEFAULT_DUPLICATE_WINDOW_MS,
        republish: subjects.live,
      },
      deadLetters: {
        name: "REALER_DLQ",
        subjects: [`${subjects.deadLetters}.>`],
        maxAgeMs: 30 * DAY_MS,
        duplicateWindowMs: DEFAULT_DUPLICATE_WINDOW_MS,
      },
    },
    worker: {
      durable: "realer-worker",
      ackWaitMs: 20_000,
      maxDeliver: 5,
      maxInFlight: 256,
      fetchExpiresMs: 5_000,
      ackDelayMs: 20,
      retryDelayMs: 500,
      maxRetryDelayMs: 30_000,
      pipelines: {},
    },
    edge: {
      host: "127.0.0.1",
      port: 8080,
      heartbeatMs: 15_000,
      retryMs: 2_000,
      maxChannels: 32,
      ringSize: 10_000,
      verifyMs: 1_000,
      unwatchAfterMs: 30_000,
      subscribeTimeoutMs: 10_000,
      maxIdleChannels: 10_000,
      maxConnectionsPerAddress: 1000,
      maxQueuedBytes: 256 * 1024,
      maxQueuedFrames: 4096,
      stallTimeoutMs: 30_000,
      closeGraceMs: 5_000,
      drainSpreadMs: 5_000,
      drainVerifyMs: 5_000,
      corsOrigins: ["*"],
      occupancySubject: "realer.occupancy",
      occupancyIntervalMs: 5_000,
      auth: {
        privateChannels: ["private:>"],
        hmacSecret: undefined,
        publicKey: undefined,
        issuer: undefined,
        audience: undefined,
        expiringNoticeMs: 60_000,
      },
    },
    ingest: { keys: [], anonymous: false, maxBodyBytes: 1 << 20, maxBatch: 500, publishTimeoutMs: 10_000 },
    logLevel: "info",
    admin: { token: undefined, metricsUrls: [], metricsPort: undefined },
  };
}

/** REALER_WORKER_PIPELINES: a JSON object of event type (or "*") to a list of stage names. */
function pipelines(env: NodeJS.ProcessEnv, fallback: Record<string, string[]>): Record<string, string[]> {
  const raw = env.REALER_WORKER_PIPELINES;
  if (raw === undefined || raw === "") return fallback;
  const bad = (why: string) =>
    new ConfigInvalid(
      `REALER_WORKER_PIPELINES: ${why}; expected e.g. {"*":["validate","route","format","publish"]}`,
    );
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw bad("not a JSON object");
  for (const [type, list] of Object.entries(v)) {
    if (!Array.isArray(list) || list.some((s) => typeof s !== "string"))
      throw bad(`"${type}" is not a list of stage names`);
  }
  return v as Record<string, string[]>;
}

function int(env: NodeJS.ProcessEnv, key: string, fallback: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min)
    throw new ConfigInvalid(`${key}=${raw}: expected an integer >= ${min}`);
  return v;
}

/**
 * The defaults overridden by REALER_* environment variables (see README,
 * Configuration). Without a NATS URL (here or in `base`) the streams start
 * from the embedded broker's bounded limits.
 */
export function configFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  base: RealerConfig = defaultConfig(),
): RealerConfig {
  const replicas = int(env, "REALER_STREAM_REPLICAS", 0, 1);
  if (replicas > MAX_REPLICAS)
    throw new ConfigInvalid(
      `REALER_STREAM_REPLICAS=${replicas}: JetStream keeps at most ${MAX_REPLICAS} replicas`,
    );
  const replicated = (s: StreamSpec): StreamSpec => (replicas > 0 ? { ...s, replicas } : s);
  const nats = env.REALER_NATS_URL || base.nats;
  const streams = applyStreamLimits(
    nats ? base.streams : embeddedStreamLimits(base.streams),
    (s) => env[s.env],
    (s) => s.env,
  );
  return {
    ...base,
    nats,
    subjects: {
      ...base.subjects,
      eventPartitions: int(env, "REALER_EVENT_PARTITIONS", base.subjects.eventPartitions, 1),
    },
    streams: {
      events: replicated(streams.events),
      channels: replicated(streams.channels),
      deadLetters: replicated(streams.deadLetters),
    },
    logLevel: env.REALER_LOG_LEVEL || base.logLevel,
    admin: {
      token: env.REALER_ADMIN_TOKEN || base.admin.token,
      metricsUrls: env.REALER_METRICS_URLS
        ? env.REALER_METRICS_URLS.split(",").filter(Boolean)
        : base.admin.metricsUrls,
      metricsPort: env.REALER_METRICS_PORT ? int(env, "REALER_METRICS_PORT", 0) : base.admin.metricsPort,
    },
    worker: {
      ...base.worker,
      durable: env.REALER_WORKER_DURABLE || base.worker.durable,
      ackWaitMs: int(env, "REALER_WORKER_ACK_WAIT_MS", base.worker.ackWaitMs, 1),
      maxDeliver: int(env, "REALER_WORKER_MAX_DELIVER", base.worker.maxDeliver, 1),
      maxInFlight: int(env, "REALER_WORKER_MAX_IN_FLIGHT", base.worker.maxInFlight, 1),
      pipelines: pipelines(env, base.worker.pipelines),
    },
    edge: {
      ...base.edge,
      host: env.REALER_HOST || base.edge.host,
      port: int(env, "REALER_PORT", base.edge.port),
      heartbeatMs: int(env, "REALER_HEARTBEAT_MS", base.edge.heartbeatMs, 100),
      verifyMs: int(env, "REALER_EDGE_VERIFY_MS", base.edge.verifyMs, 10),
      unwatchAfterMs: int(env, "REALER_UNWATCH_AFTER_MS", base.edge.unwatchAfterMs),
      subscribeTimeoutMs: int(env, "REALER_SUBSCRIBE_TIMEOUT_MS", base.edge.subscribeTimeoutMs, 1),
      maxIdleChannels: int(env, "REALER_MAX_IDLE_CHANNELS", base.edge.maxIdleChannels),
      maxChannels: int(env, "REALER_MAX_CHANNELS", base.edge.maxChannels, 1),
      maxConnectionsPerAddress: int(
        env,
        "REALER_MAX_CONNECTIONS_PER_ADDRESS",
        base.edge.maxConnectionsPerAddress,
      ),
      maxQueuedBytes: int(env, "REALER_MAX_QUEUED_BYTES", base.edge.maxQueuedBytes, 1024),
      maxQueuedFrames: int(env, "REALER_MAX_QUEUED_FRAMES", base.edge.maxQueuedFrames, 1),
      stallTimeoutMs: int(env, "REALER_STALL_TIMEOUT_MS", base.edge.stallTimeoutMs, 100),
      drainSpreadMs: int(env, "REALER_DRAIN_SPREAD_MS", base.edge.drainSpreadMs),
      drainVerifyMs: int(env, "REALER_DRAIN_VERIFY_MS", base.edge.drainVerifyMs),
      corsOrigins: env.REALER_CORS_ORIGINS
        ? env.REALER_CORS_ORIGINS.split(",")
            .map((o) => o.trim())
            .filter(Boolean)
        : base.edge.corsOrigins,
      auth: {
        ...base.edge.auth,
        privateChannels: env.REALER_PRIVATE_CHANNELS
          ? env.REALER_PRIVATE_CHANNELS.split(",")
              .map((p) => p.trim())
              .filter(Boolean)
          : base.edge.auth.privateChannels,
        hmacSecret: env.REALER_AUTH_HMAC_SECRET || base.edge.auth.hmacSecret,
        publicKey: env.REALER_AUTH_PUBLIC_KEY || base.edge.auth.publicKey,
        issuer: env.REALER_AUTH_ISSUER || base.edge.auth.issuer,
        audience: env.REALER_AUTH_AUDIENCE || base.edge.auth.audience,
      },
    },
    ingest: {
      ...base.ingest,
      keys: env.REALER_INGEST_KEYS
        ? env.REALER_INGEST_KEYS.split(",")
            .map((k) => k.trim())
            .filter(Boolean)
        : base.ingest.keys,
      maxBodyBytes: int(env, "REALER_INGEST_MAX_BYTES", base.ingest.maxBodyBytes, 1024),
      maxBatch: int(env, "REALER_INGEST_MAX_BATCH", base.ingest.maxBatch, 1),
    },
  };
}
