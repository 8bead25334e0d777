/**
 * The ledger of the worker: every stage counts a job +1 when it goes in and
 * -1 when it comes out, by outcome, so for every stage
 *   realer_stage_in_total{stage} = sum over outcomes of realer_stage_out_total{stage,outcome}
 * once the worker is idle. A stage whose sides differ is where a run leaks.
 * `realer audit` and /metrics read these names: keep them stable.
 *
 * Counting is on the hot path (several counts per event), so it adds to plain
 * numbers; the prom-client counters copy them when /metrics is scraped.
 */
import type { Counter } from "prom-client";
import { counter } from "./registry.js";

/** passed: went on to the next stage; dropped: skipped or dead-lettered; retried: nak'ed; failed: fatal. */
export type StageOutcome = "passed" | "dropped" | "retried" | "failed";
/** What settle did with an event. */
export type SettleOutcome = "acked" | "retried" | "dead" | "fatal";

const STAGE_OUTCOMES: readonly StageOutcome[] = ["passed", "dropped", "retried", "failed"];
const SETTLE_OUTCOMES: readonly SettleOutcome[] = ["acked", "retried", "dead", "fatal"];

interface StageCounts {
  in: number;
  out: Record<StageOutcome, number>;
}

const stages = new Map<string, StageCounts>();
const settled: Record<SettleOutcome, number> = { acked: 0, retried: 0, dead: 0, fatal: 0 };

/** Copies totals into a counter: counters only go up, so it is reset and set to the total. */
function copy(c: Counter<string>, rows: [Record<string, string>, number][]): void {
  c.reset();
  for (const [labels, v] of rows) if (v > 0) c.inc(labels, v);
}

function register(): void {
  counter("realer_stage_in_total", "Jobs that entered a pipeline stage", ["stage"], (c) =>
    copy(
      c,
      [...stages].map(([stage, n]) => [{ stage }, n.in]),
    ),
  );
  counter(
    "realer_stage_out_total",
    "Jobs that left a pipeline stage, by outcome",
    ["stage", "outcome"],
    (c) =>
      copy(
        c,
        [...stages].flatMap(([stage, n]) =>
          STAGE_OUTCOMES.map(
            (outcome) => [{ stage, outcome }, n.out[outcome]] as [Record<string, string>, number],
          ),
        ),
      ),
  );
  counter("realer_events_settled_total", "Events settled by workers, by outcome", ["outcome"], (c) =>
    copy(
      c,
      SETTLE_OUTCOMES.map((outcome) => [{ outcome }, settled[outcome]]),
    ),
  );
}
register();

/** A stage's counters. */
export interface StageLedger {
  in(): void;
  out(outcome: StageOutcome): void;
  /** `out("passed")`, the common case, without a lookup by outcome name. */
  passed(): void;
}

/** The ledger of `stage`; stages of one name (in several pipelines) share it. */
export function stageLedger(stage: string): StageLedger {
  let counts = stages.get(stage);
  if (!counts) {
    counts = { in: 0, out: { passed: 0, dropped: 0, retried: 0, failed: 0 } };
    stages.set(stage, counts);
  }
  const n = counts;
  const out = counts.out;
  return {
    in: () => {
      n.in++;
    },
    out: (outcome) => {
      n.out[outcome]++;
    },
    passed: () => {
      out.passed++;
    },
  };
}

export function countSettled(outcome: SettleOutcome): void {
  settled[outcome]++;
}
