/** The edge's settings: listening, SSE connections, subscriptions, occupancy, subscribe tokens. */
import type { EnvReader } from "./env.js";

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

export function defaultEdgeConfig(): EdgeConfig {
  return {
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
  };
}

export function edgeFromEnv(env: EnvReader, base: EdgeConfig): EdgeConfig {
  return {
    ...base,
    host: env.string("REALER_HOST", base.host),
    port: env.int("REALER_PORT", base.port),
    heartbeatMs: env.int("REALER_HEARTBEAT_MS", base.heartbeatMs, 100),
    verifyMs: env.int("REALER_EDGE_VERIFY_MS", base.verifyMs, 10),
    unwatchAfterMs: env.int("REALER_UNWATCH_AFTER_MS", base.unwatchAfterMs),
    subscribeTimeoutMs: env.int("REALER_SUBSCRIBE_TIMEOUT_MS", base.subscribeTimeoutMs, 1),
    maxIdleChannels: env.int("REALER_MAX_IDLE_CHANNELS", base.maxIdleChannels),
    maxChannels: env.int("REALER_MAX_CHANNELS", base.maxChannels, 1),
    maxConnectionsPerAddress: env.int("REALER_MAX_CONNECTIONS_PER_ADDRESS", base.maxConnectionsPerAddress),
    maxQueuedBytes: env.int("REALER_MAX_QUEUED_BYTES", base.maxQueuedBytes, 1024),
    maxQueuedFrames: env.int("REALER_MAX_QUEUED_FRAMES", base.maxQueuedFrames, 1),
    stallTimeoutMs: env.int("REALER_STALL_TIMEOUT_MS", base.stallTimeoutMs, 100),
    drainSpreadMs: env.int("REALER_DRAIN_SPREAD_MS", base.drainSpreadMs),
    drainVerifyMs: env.int("REALER_DRAIN_VERIFY_MS", base.drainVerifyMs),
    corsOrigins: env.list("REALER_CORS_ORIGINS", base.corsOrigins),
    auth: {
      ...base.auth,
      privateChannels: env.list("REALER_PRIVATE_CHANNELS", base.auth.privateChannels),
      hmacSecret: env.string("REALER_AUTH_HMAC_SECRET", base.auth.hmacSecret),
      publicKey: env.string("REALER_AUTH_PUBLIC_KEY", base.auth.publicKey),
      issuer: env.string("REALER_AUTH_ISSUER", base.auth.issuer),
      audience: env.string("REALER_AUTH_AUDIENCE", base.auth.audience),
    },
  };
}
