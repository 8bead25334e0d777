/** The HTTP ingest's settings (REALER_INGEST_*). */
import type { EnvReader } from "./env.js";

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

export function defaultIngestConfig(): IngestConfig {
  return { keys: [], anonymous: false, maxBodyBytes: 1 << 20, maxBatch: 500, publishTimeoutMs: 10_000 };
}

export function ingestFromEnv(env: EnvReader, base: IngestConfig): IngestConfig {
  return {
    ...base,
    keys: env.list("REALER_INGEST_KEYS", base.keys),
    maxBodyBytes: env.int("REALER_INGEST_MAX_BYTES", base.maxBodyBytes, 1024),
    maxBatch: env.int("REALER_INGEST_MAX_BATCH", base.maxBatch, 1),
  };
}
