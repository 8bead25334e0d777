/**
 * What the admin page shows, gathered in one call: the edge's connections,
 * stage counters (cumulative; the page turns them into rates), the worker
 * consumer's lag, dead letters, and the audit since the page's first call.
 */

import type { AdminBroker } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { type AuditSnapshot, audit, takeSnapshot } from "../ops/audit.js";
import { localMetrics, type MetricsSource, type ProcessSamples, urlMetrics } from "../ops/metrics-source.js";
import { sum } from "../ops/prom-text.js";
import { workerConsumerState } from "../ops/worker-consumers.js";

/** The edge's side, when this process runs one. */
export interface EdgeView {
  readonly connections: number;
  readonly position: number;
  channelCounts?(): Iterable<[string, number]>;
}

export interface Overview {
  at: number;
  edge: { connections: number; channels: number; position: number } | null;
  stages: { stage: string; in: number; passed: number; dropped: number; retried: number; failed: number }[];
  settled: { acked: number; dead: number; retried: number };
  consumer: { pending: number; ackPending: number; redelivered: number } | null;
  streams: { events: number; channels: number; deadLetters: number };
  audit: {
    since: number;
    produced: number;
    acked: number;
    dead: number;
    inFlightChange: number;
    balance: number;
    imbalances: string[];
  };
  /** /metrics URLs that did not answer this time (their last good counters are used). */
  unreachable: string[];
}

export class OverviewSource {
  readonly #broker: AdminBroker;
  readonly #cfg: RealerConfig;
  readonly #edge: EdgeView | undefined;
  readonly #sources: MetricsSource[];
  readonly #lastGood = new Map<string, ProcessSamples>();
  readonly #unreachable = new Set<string>();
  #base: AuditSnapshot | undefined;

  constructor(broker: AdminBroker, cfg: RealerConfig, edge?: EdgeView) {
    this.#broker = broker;
    this.#cfg = cfg;
    this.#edge = edge;
    this.#sources = [localMetrics, ...cfg.admin.metricsUrls.map((u) => this.#tolerant(u))];
  }

  /** A worker that does not answer must not blank the page: its last good counters stand in. */
  #tolerant(url: string): MetricsSource {
    const read = urlMetrics(url, 2_000);
    return async () => {
      try {
        const p = await read();
        this.#lastGood.set(url, p);
        this.#unreachable.delete(url);
        return p;
      } catch {
        this.#unreachable.add(url);
        return this.#lastGood.get(url) ?? { source: url, samples: [] };
      }
    };
  }

  async read(): Promise<Overview> {
    const snap = await takeSnapshot(this.#broker, this.#cfg, this.#sources);
    this.#base ??= snap;
    const report = audit(this.#base, snap);
    const [consumer, dlq] = await Promise.all([
      workerConsumerState(this.#broker, this.#cfg),
      this.#broker.streamState(this.#cfg.streams.deadLetters.name),
    ]);
    const all = snap.processes.flatMap((p) => p.samples);
    const edge = this.#edge;
    return {
      at: snap.at,
      edge: edge
        ? {
            connections: edge.connections,
            channels: edge.channelCounts ? [...edge.channelCounts()].length : 0,
            position: edge.position,
          }
        : null,
      stages: report.stages.map((s) => ({
        stage: s.stage,
        in: sum(all, "realer_stage_in_total", { stage: s.stage }),
        passed: sum(all, "realer_stage_out_total", { stage: s.stage, outcome: "passed" }),
        dropped: sum(all, "realer_stage_out_total", { stage: s.stage, outcome: "dropped" }),
        retried: sum(all, "realer_stage_out_total", { stage: s.stage, outcome: "retried" }),
        failed: sum(all, "realer_stage_out_total", { stage: s.stage, outcome: "failed" }),
      })),
      settled: {
        acked: sum(all, "realer_events_settled_total", { outcome: "acked" }),
        dead: sum(all, "realer_events_settled_total", { outcome: "dead" }),
        retried: sum(all, "realer_events_settled_total", { outcome: "retried" }),
      },
      consumer: consumer
        ? { pending: consumer.pending, ackPending: consumer.ackPending, redelivered: consumer.redelivered }
        : null,
      streams: { events: snap.eventsLastSeq, channels: snap.channelsLastSeq, deadLetters: dlq.messages },
      audit: {
        since: report.from,
        ...report.events,
        imbalances: report.imbalances.map((i) => `${i.stage}: ${i.missing} missing (${i.message})`),
      },
      unreachable: [...this.#unreachable],
    };
  }
}
