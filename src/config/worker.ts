/** The worker's settings (REALER_WORKER_*). */
import type { EnvReader } from "./env.js";

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

export function defaultWorkerConfig(): WorkerConfig {
  return {
    durable: "realer-worker",
    ackWaitMs: 20_000,
    maxDeliver: 5,
    maxInFlight: 256,
    fetchExpiresMs: 5_000,
    ackDelayMs: 20,
    retryDelayMs: 500,
    maxRetryDelayMs: 30_000,
    pipelines: {},
  };
}

/** Why `v` is not a JSON object of event type to a list of stage names, or undefined. */
function pipelinesProblem(v: unknown): string | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "not a JSON object";
  for (const [type, list] of Object.entries(v)) {
    if (!Array.isArray(list) || list.some((s) => typeof s !== "string"))
      return `"${type}" is not a list of stage names`;
  }
  return undefined;
}

export function workerFromEnv(env: EnvReader, base: WorkerConfig): WorkerConfig {
  return {
    ...base,
    durable: env.string("REALER_WORKER_DURABLE", base.durable),
    ackWaitMs: env.int("REALER_WORKER_ACK_WAIT_MS", base.ackWaitMs, 1),
    maxDeliver: env.int("REALER_WORKER_MAX_DELIVER", base.maxDeliver, 1),
    maxInFlight: env.int("REALER_WORKER_MAX_IN_FLIGHT", base.maxInFlight, 1),
    pipelines: env.json(
      "REALER_WORKER_PIPELINES",
      base.pipelines,
      pipelinesProblem,
      '{"*":["validate","route","format","publish"]}',
    ),
  };
}
