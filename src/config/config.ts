/**
 * Configuration: typed, every field with its default and unit, one file per
 * component. Only this folder reads `process.env`, through one parser
 * (env.ts). `defaultConfig()` returns a fresh object each call;
 * `configFromEnv()` never mutates its inputs.
 */
import { type AdminConfig, adminFromEnv, defaultAdminConfig } from "./admin.js";
import { defaultEdgeConfig, type EdgeConfig, edgeFromEnv } from "./edge.js";
import { type Env, EnvReader } from "./env.js";
import { defaultIngestConfig, type IngestConfig, ingestFromEnv } from "./ingest.js";
import { defaultStreams, type StreamsConfig, streamsFromEnv } from "./streams.js";
import { defaultSubjects, type SubjectConfig, subjectsFromEnv } from "./subjects.js";
import { defaultWorkerConfig, type WorkerConfig, workerFromEnv } from "./worker.js";

export type { AdminConfig } from "./admin.js";
export type { EdgeAuthConfig, EdgeConfig } from "./edge.js";
export type { IngestConfig } from "./ingest.js";
export type { StreamConfig, StreamsConfig } from "./streams.js";
export type { SubjectConfig } from "./subjects.js";
export type { WorkerConfig } from "./worker.js";

export interface RealerConfig {
  /** NATS URL(s), comma separated (REALER_NATS_URL); undefined runs on the embedded in-memory broker. */
  nats: string | undefined;
  subjects: SubjectConfig;
  streams: StreamsConfig;
  worker: WorkerConfig;
  edge: EdgeConfig;
  ingest: IngestConfig;
  /** pino level (REALER_LOG_LEVEL). Default "info". */
  logLevel: string;
  admin: AdminConfig;
}

export function defaultConfig(): RealerConfig {
  const subjects = defaultSubjects();
  return {
    nats: undefined,
    subjects,
    streams: defaultStreams(subjects),
    worker: defaultWorkerConfig(),
    edge: defaultEdgeConfig(),
    ingest: defaultIngestConfig(),
    logLevel: "info",
    admin: defaultAdminConfig(),
  };
}

/**
 * The defaults overridden by REALER_* environment variables (see README,
 * Configuration). Without a NATS URL (here or in `base`) the streams start
 * from the embedded broker's bounded limits.
 */
export function configFromEnv(vars: Env = process.env, base: RealerConfig = defaultConfig()): RealerConfig {
  const env = new EnvReader(vars);
  const nats = env.string("REALER_NATS_URL", base.nats);
  return {
    ...base,
    nats,
    subjects: subjectsFromEnv(env, base.subjects),
    streams: streamsFromEnv(env, base.streams, !nats),
    logLevel: env.string("REALER_LOG_LEVEL", base.logLevel),
    admin: adminFromEnv(env, base.admin),
    worker: workerFromEnv(env, base.worker),
    edge: edgeFromEnv(env, base.edge),
    ingest: ingestFromEnv(env, base.ingest),
  };
}
