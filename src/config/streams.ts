/**
 * realer's three streams: their names, subjects and limits. The broker's
 * `StreamSpec` (src/broker/types.ts) is these settings plus where a stream
 * is stored.
 */
import { ConfigInvalid } from "../errors.js";
import type { EnvReader } from "./env.js";
import { applyStreamLimits, DEFAULT_DUPLICATE_WINDOW_MS, embeddedStreamLimits } from "./stream-limits.js";
import type { SubjectConfig } from "./subjects.js";

/**
 * Messages kept by a stream, and for how long. An absent limit, or 0, means
 * none. Both brokers enforce every limit, the oldest messages going first
 * (the in-memory broker counts `maxBytes` in message data bytes, JetStream
 * with subjects, headers and its own overhead); max age and the duplicate
 * window hold with no publish too.
 */
export interface StreamConfig {
  /** Stream name, e.g. "REALER_EVENTS". */
  name: string;
  /** Subjects the stream captures; NATS wildcards allowed ("realer.events.>"). */
  subjects: string[];
  /** Oldest message age kept, in milliseconds. */
  maxAgeMs?: number;
  /** Most messages kept in the whole stream; the oldest go first. */
  maxMsgs?: number;
  /** Most messages kept per subject; the oldest of that subject go first. */
  maxMsgsPerSubject?: number;
  /** Most bytes kept. */
  maxBytes?: number;
  /** How long a `msgId` suppresses duplicates, in milliseconds. Default 2 minutes. */
  duplicateWindowMs?: number;
  /**
   * In memory only: most dedupe ids remembered at once; past it the oldest are
   * forgotten before the window ends (a repeat of one is then stored again).
   * Each costs ~300 bytes, and a window at a high rate holds hundreds of
   * thousands. Ignored by JetStream, which keeps every id of the window.
   */
  maxDedupeIds?: number;
  /**
   * Copies JetStream keeps, each on another server of the cluster (1-5): with 3, the stream
   * survives the loss of any one server. A single server keeps 1. Default 1. Ignored in memory.
   */
  replicas?: number;
  /**
   * Republish every stored message, with its sequence and its subject's
   * previous sequence, under `<republish>.<subject>` as a plain message: the
   * stream's live subjects (`LiveSubjects`). Both brokers set it only when
   * they create the stream (nats-server 2.9 cannot change it later); on
   * JetStream with memory storage its cost grows with what the stream holds
   * (bench/nats-cost.ts), so keep such streams on file storage. Must not
   * overlap `subjects`.
   */
  republish?: string;
}

export interface StreamsConfig {
  /** REALER_EVENTS: what producers emit. */
  events: StreamConfig;
  /** REALER_CHANNELS: what edges deliver. */
  channels: StreamConfig;
  /** REALER_DLQ: events given up on. */
  deadLetters: StreamConfig;
}

const DAY_MS = 86_400_000;
/** JetStream's limit on a stream's replicas. */
const MAX_REPLICAS = 5;

export function defaultStreams(subjects: SubjectConfig): StreamsConfig {
  return {
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
  };
}

/**
 * `base` with the limits of the REALER_<STREAM>_* variables and
 * REALER_STREAM_REPLICAS. On the embedded broker (`embedded`) the streams
 * start from its bounded limits.
 */
export function streamsFromEnv(env: EnvReader, base: StreamsConfig, embedded: boolean): StreamsConfig {
  const replicas = env.int("REALER_STREAM_REPLICAS", 0, 1);
  if (replicas > MAX_REPLICAS)
    throw new ConfigInvalid(
      `REALER_STREAM_REPLICAS=${replicas}: JetStream keeps at most ${MAX_REPLICAS} replicas`,
    );
  const streams = applyStreamLimits(
    embedded ? embeddedStreamLimits(base) : base,
    (s) => env.raw(s.env),
    (s) => s.env,
  );
  const replicated = (s: StreamConfig): StreamConfig => (replicas > 0 ? { ...s, replicas } : s);
  return {
    events: replicated(streams.events),
    channels: replicated(streams.channels),
    deadLetters: replicated(streams.deadLetters),
  };
}
