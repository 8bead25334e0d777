/** The subjects realer publishes under, and the events stream's partitions (REALER_EVENT_PARTITIONS). */
import type { EnvReader } from "./env.js";

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
   * edges read live messages there (edge/channel-feed.ts). Default "realer.live".
   */
  live: string;
}

export function defaultSubjects(): SubjectConfig {
  return {
    events: "realer.events",
    eventPartitions: 64,
    channels: "realer.ch",
    deadLetters: "realer.dlq",
    live: "realer.live",
  };
}

export function subjectsFromEnv(env: EnvReader, base: SubjectConfig): SubjectConfig {
  return { ...base, eventPartitions: env.int("REALER_EVENT_PARTITIONS", base.eventPartitions, 1) };
}
