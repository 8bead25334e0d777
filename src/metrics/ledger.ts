/**
 * The ledger of the worker: every stage counts a job +1 when it goes in and
 * -1 when it comes out, by outcome, so for every stage
 *   realer_stage_in_total{stage} = sum over outcomes of realer_stage_out_total{stage,outcome}
 * once the worker is idle. A stage whose sides differ is where a run leaks.
 * `realer audit` and /metrics read these names: keep them stable.
 */
import type { Counter } from "prom-client";
import { counter } from "./registry.js";

/** passed: went on to the next stage; dropped: skipped or dead-lettered; retried: nak'ed; failed: fatal. */
export type StageOutcome = "passed" | "dropped" | "retried" | "failed";
/** What settle did with an event. */
export type SettleOutcome = "acked" | "retried" | "dead" | "fatal";

const stageIn = () => counter("realer_stage_in_total", "Jobs that entered a pipeline stage", ["stage"]);
const stageOut = () =>
  counter("realer_stage_out_total", "Jobs that left a pipeline stage, by outcome", ["stage", "outcome"]);
const settled = () => counter("realer_events_settled_total", "Events settled by workers, by outcome", ["outcome"]);

type Child = ReturnType<Counter<string>["labels"]>;

/** A stage's counters, bound to their labels once so counting is cheap on the hot path. */
export interface StageLedger {
  in(): void;
  out(outcome: StageOutcome): void;
}

export function stageLedger(stage: string): StageLedger {
  const i = stageIn().labels({ stage });
  const outs = new Map<StageOutcome, Child>();
  return {
    in: () => i.inc(),
    out: (outcome) => {
      let c = outs.get(outcome);
      if (!c) outs.set(outcome, (c = stageOut().labels({ stage, outcome })));
      c.inc();
    },
  };
}

const settledChildren = new Map<SettleOutcome, Child>();
export function countSettled(outcome: SettleOutcome): void {
  let c = settledChildren.get(outcome);
  if (!c) settledChildren.set(outcome, (c = settled().labels({ outcome })));
  c.inc();
}
