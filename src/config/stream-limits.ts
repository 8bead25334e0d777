/**
 * The limits of realer's streams, each settable by an environment variable
 * and by the flag of the same name (`REALER_EVENTS_MAX_AGE_MS`:
 * `--events-max-age-ms`) on every command that creates the streams. A limit
 * of 0 means none. One table drives both, so they cannot drift.
 *
 * The embedded broker keeps everything in the process's memory: `realer dev`
 * without --nats uses `embeddedStreamLimits`, which bound what it holds
 * (docs/benchmarks.md, "Embedded memory").
 */
import { ConfigInvalid } from "../errors.js";
import { parseInteger } from "./env.js";
import type { StreamsConfig } from "./streams.js";

export type StreamKey = keyof StreamsConfig;
type LimitField = "maxAgeMs" | "maxBytes" | "maxMsgs" | "maxMsgsPerSubject" | "duplicateWindowMs";

export interface StreamLimitSetting {
  /** The environment variable; the flag is its name without REALER_, in lower case with dashes. */
  env: string;
  stream: StreamKey;
  field: LimitField;
  /** What it sets, for --help. */
  help: string;
}

const MIB = 1024 * 1024;
/** A stream's duplicate window when its spec sets none (both brokers' default). */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
const HOUR_MS = 3_600_000;
/**
 * Dedupe ids the embedded broker remembers per stream: the whole window at
 * up to ~200 events a second (25,000 over 2 minutes), ~8 MB per stream.
 */
const EMBEDDED_DEDUPE_IDS = 25_000;

export const STREAM_LIMITS: readonly StreamLimitSetting[] = [
  { env: "REALER_EVENTS_MAX_AGE_MS", stream: "events", field: "maxAgeMs", help: "events kept this long, ms" },
  { env: "REALER_EVENTS_MAX_BYTES", stream: "events", field: "maxBytes", help: "events stream size, bytes" },
  { env: "REALER_EVENTS_MAX_MSGS", stream: "events", field: "maxMsgs", help: "events kept" },
  {
    env: "REALER_EVENTS_DUPLICATE_WINDOW_MS",
    stream: "events",
    field: "duplicateWindowMs",
    help: "how long an event id suppresses a repeat, ms",
  },
  {
    env: "REALER_CHANNELS_MAX_AGE_MS",
    stream: "channels",
    field: "maxAgeMs",
    help: "channel messages kept this long, ms",
  },
  {
    env: "REALER_CHANNELS_MAX_BYTES",
    stream: "channels",
    field: "maxBytes",
    help: "channel stream size, bytes",
  },
  { env: "REALER_CHANNELS_MAX_MSGS", stream: "channels", field: "maxMsgs", help: "channel messages kept" },
  {
    env: "REALER_CHANNELS_MAX_PER_CHANNEL",
    stream: "channels",
    field: "maxMsgsPerSubject",
    help: "messages kept per channel",
  },
  {
    env: "REALER_CHANNELS_DUPLICATE_WINDOW_MS",
    stream: "channels",
    field: "duplicateWindowMs",
    help: "how long a worker output's id suppresses a repeat, ms",
  },
  {
    env: "REALER_DLQ_MAX_AGE_MS",
    stream: "deadLetters",
    field: "maxAgeMs",
    help: "dead letters kept this long, ms",
  },
  {
    env: "REALER_DLQ_MAX_BYTES",
    stream: "deadLetters",
    field: "maxBytes",
    help: "dead-letter stream size, bytes",
  },
  { env: "REALER_DLQ_MAX_MSGS", stream: "deadLetters", field: "maxMsgs", help: "dead letters kept" },
  {
    env: "REALER_DLQ_DUPLICATE_WINDOW_MS",
    stream: "deadLetters",
    field: "duplicateWindowMs",
    help: "how long a dead letter's id suppresses a repeat, ms",
  },
];

/** `REALER_EVENTS_MAX_AGE_MS` -> `events-max-age-ms`. */
export function flagOf(s: StreamLimitSetting): string {
  return s.env
    .replace(/^REALER_/, "")
    .toLowerCase()
    .replaceAll("_", "-");
}

/**
 * The limits `realer dev` uses on the embedded broker where nothing else is
 * set: bounded in bytes, so a long session or a burst holds its memory flat
 * (with a backlog past them, the oldest unprocessed events go, as on
 * JetStream with the same limits).
 */
export function embeddedStreamLimits(streams: StreamsConfig): StreamsConfig {
  return {
    events: { ...streams.events, maxAgeMs: HOUR_MS, maxBytes: 8 * MIB, maxDedupeIds: EMBEDDED_DEDUPE_IDS },
    channels: {
      ...streams.channels,
      maxAgeMs: HOUR_MS,
      maxBytes: 8 * MIB,
      maxDedupeIds: EMBEDDED_DEDUPE_IDS,
    },
    deadLetters: { ...streams.deadLetters, maxBytes: 8 * MIB, maxDedupeIds: EMBEDDED_DEDUPE_IDS },
  };
}

/**
 * `streams` with each limit that `lookup` gives (by environment variable
 * name) set; `source` names where values come from, for errors. A limit of 0
 * removes it. Values must be integers >= 0 (>= 1 for a duplicate window).
 */
export function applyStreamLimits(
  streams: StreamsConfig,
  lookup: (s: StreamLimitSetting) => string | undefined,
  source: (s: StreamLimitSetting) => string,
): StreamsConfig {
  const out: StreamsConfig = {
    events: { ...streams.events },
    channels: { ...streams.channels },
    deadLetters: { ...streams.deadLetters },
  };
  for (const s of STREAM_LIMITS) {
    const raw = lookup(s);
    if (raw === undefined || raw === "") continue;
    const min = s.field === "duplicateWindowMs" ? 1 : 0;
    const v = parseInteger(source(s), raw, min, min ? "" : " (0: no limit)");
    const spec = out[s.stream];
    if (v === 0) delete spec[s.field];
    else spec[s.field] = v;
  }
  return out;
}

/** Refuses limits JetStream would refuse: a duplicate window longer than the stream keeps messages. */
export function checkStreamLimits(streams: StreamsConfig): void {
  for (const key of ["events", "channels", "deadLetters"] as const) {
    const s = streams[key];
    const window = s.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
    if (s.maxAgeMs !== undefined && s.maxAgeMs > 0 && window > s.maxAgeMs) {
      const prefix = key === "deadLetters" ? "REALER_DLQ" : `REALER_${key.toUpperCase()}`;
      throw new ConfigInvalid(
        `${s.name}: a duplicate window of ${window} ms is longer than its max age of ${s.maxAgeMs} ms` +
          ` (${prefix}_DUPLICATE_WINDOW_MS, ${prefix}_MAX_AGE_MS)`,
      );
    }
  }
}
