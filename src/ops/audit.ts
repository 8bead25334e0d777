/**
 * The audit: the +1/-1 ledger of a window between two snapshots.
 *
 * - Events: produced (events-stream sequences) = acked (processed, including
 *   those dropped on purpose) + dead-lettered + the change in what the
 *   worker consumer still holds (unclaimed + claimed).
 * - Stages: every stage's jobs in = passed + dropped + retried + failed (the
 *   difference is inside the stage); one stage's passed = the next stage's
 *   in; everything that left a stage other than by passing, plus what passed
 *   the last stage, = events settled.
 * - Channels: messages stored on the channel stream = received by each edge
 *   (its stream position moves by one per message); frames written per edge.
 *
 * Counters are read from every given process and summed; a counter that went
 * down (a restarted process) counts from zero. Under live traffic the
 * snapshots are not atomic, so a few events may show as in flight; an
 * imbalance that persists across windows, or one on a quiet system, is a leak.
 */

import type { AdminBroker } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { DEFAULT_STAGES } from "../pipeline/pipeline.js";
import type { MetricsSource, ProcessSamples } from "./metrics-source.js";
import { labelValues, type Sample, sum } from "./prom-text.js";
import { workerConsumerState } from "./worker-consumers.js";

export const EDGE_POSITION = "realer_edge_stream_position";
const STAGE_IN = "realer_stage_in_total";
const STAGE_OUT = "realer_stage_out_total";
const SETTLED = "realer_events_settled_total";
const FRAMES = "realer_edge_frames_written_total";
const OUTCOMES = ["passed", "dropped", "retried", "failed"] as const;
/** The worker runs attempts, then decode, then the type's stages (the default list is checked as a chain). */
const CHAIN = ["attempts", "decode", ...DEFAULT_STAGES];

export interface AuditSnapshot {
  at: number;
  eventsLastSeq: number;
  channelsLastSeq: number;
  /** The worker consumer's unclaimed + claimed messages. */
  inFlight: number;
  processes: ProcessSamples[];
}

export async function takeSnapshot(
  broker: AdminBroker,
  cfg: RealerConfig,
  sources: readonly MetricsSource[],
): Promise<AuditSnapshot> {
  const processes = await Promise.all(sources.map((s) => s()));
  const [events, channels, consumer] = await Promise.all([
    broker.streamState(cfg.streams.events.name),
    broker.streamState(cfg.streams.channels.name),
    workerConsumerState(broker, cfg),
  ]);
  return {
    at: Date.now(),
    eventsLastSeq: events.lastSeq,
    channelsLastSeq: channels.lastSeq,
    inFlight: consumer ? consumer.pending + consumer.ackPending : 0,
    processes,
  };
}

export interface StageRow {
  stage: string;
  in: number;
  passed: number;
  dropped: number;
  retried: number;
  failed: number;
  /** in - every outcome: jobs still inside the stage, or lost in it. */
  inside: number;
}

export interface Imbalance {
  /** The stage (or "settle", "edge <source>", "events") where the numbers stop adding up. */
  stage: string;
  /** How many are missing (negative: counted twice). */
  missing: number;
  message: string;
}

export interface AuditReport {
  from: number;
  to: number;
  events: { produced: number; acked: number; dead: number; inFlightChange: number; balance: number };
  stages: StageRow[];
  settled: number;
  channels: {
    stored: number;
    edges: { source: string; received: number; frames: number; balance: number }[];
  };
  /** True when nothing was left in the worker consumer at the end of the window. */
  quiet: boolean;
  imbalances: Imbalance[];
}

/** The counter's growth over the window, summed over processes; a reset counts from zero. */
function delta(a: AuditSnapshot, b: AuditSnapshot, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const p of b.processes) {
    const now = sum(p.samples, name, match);
    const prev = a.processes.find((q) => q.source === p.source);
    const then = prev ? sum(prev.samples, name, match) : 0;
    total += now >= then ? now - then : now;
  }
  return total;
}

function stageOrder(samples: Sample[]): string[] {
  const seen = new Set([
    ...labelValues(samples, STAGE_IN, "stage"),
    ...labelValues(samples, STAGE_OUT, "stage"),
  ]);
  const known = CHAIN.filter((s) => seen.has(s));
  return [...known, ...[...seen].filter((s) => !known.includes(s)).sort()];
}

export function audit(a: AuditSnapshot, b: AuditSnapshot): AuditReport {
  const imbalances: Imbalance[] = [];
  const produced = b.eventsLastSeq - a.eventsLastSeq;
  const acked = delta(a, b, SETTLED, { outcome: "acked" });
  const dead = delta(a, b, SETTLED, { outcome: "dead" });
  const inFlightChange = b.inFlight - a.inFlight;
  const balance = produced - acked - dead - inFlightChange;

  const all = b.processes.flatMap((p) => p.samples);
  const order = stageOrder(all);
  const stages: StageRow[] = order.map((stage) => {
    const row = {
      stage,
      in: delta(a, b, STAGE_IN, { stage }),
      passed: 0,
      dropped: 0,
      retried: 0,
      failed: 0,
      inside: 0,
    };
    for (const o of OUTCOMES) row[o] = delta(a, b, STAGE_OUT, { stage, outcome: o });
    row.inside = row.in - row.passed - row.dropped - row.retried - row.failed;
    return row;
  });
  const chained = stages.filter((s) => CHAIN.includes(s.stage));
  // In pipeline order, so the first imbalance listed is where a leak starts.
  for (const s of stages) {
    const i = chained.indexOf(s);
    const prev = i > 0 ? chained[i - 1] : undefined;
    if (prev && prev.passed !== s.in) {
      imbalances.push({
        stage: s.stage,
        missing: prev.passed - s.in,
        message: `${prev.passed} jobs passed ${prev.stage} but ${s.in} entered ${s.stage}`,
      });
    }
    if (s.inside !== 0) {
      imbalances.push({
        stage: s.stage,
        missing: s.inside,
        message: `${s.inside} jobs entered ${s.stage} and never left it`,
      });
    }
  }
  const settled = delta(a, b, SETTLED);
  if (stages.length > 0) {
    const last = chained.at(-1) ?? stages.at(-1)!;
    const expected = last.passed + stages.reduce((n, s) => n + s.dropped + s.retried + s.failed, 0);
    if (expected !== settled) {
      imbalances.push({
        stage: "settle",
        missing: expected - settled,
        message: `${expected} jobs reached settle (passed ${last.stage} or left a stage early) but ${settled} were settled`,
      });
    }
  }

  if (balance !== 0) {
    imbalances.push({
      stage: "events",
      missing: balance,
      message: `${produced} produced but ${acked} acked + ${dead} dead-lettered + ${inFlightChange} more in flight`,
    });
  }

  const stored = b.channelsLastSeq - a.channelsLastSeq;
  const edges = b.processes
    .filter((p) => p.samples.some((s) => s.name === EDGE_POSITION))
    .map((p) => {
      const prev = a.processes.find((q) => q.source === p.source);
      const received = sum(p.samples, EDGE_POSITION) - (prev ? sum(prev.samples, EDGE_POSITION) : 0);
      return { source: p.source, received, frames: deltaOf(prev, p, FRAMES), balance: stored - received };
    });
  for (const e of edges) {
    if (e.balance !== 0) {
      imbalances.push({
        stage: `edge ${e.source}`,
        missing: e.balance,
        message: `${stored} channel messages stored but the edge at ${e.source} received ${e.received}`,
      });
    }
  }
  const quiet = b.inFlight === 0;
  return {
    from: a.at,
    to: b.at,
    events: { produced, acked, dead, inFlightChange, balance },
    stages,
    settled,
    channels: { stored, edges },
    quiet,
    imbalances,
  };
}

function deltaOf(a: ProcessSamples | undefined, b: ProcessSamples, name: string): number {
  const now = sum(b.samples, name);
  const then = a ? sum(a.samples, name) : 0;
  return now >= then ? now - then : now;
}
