import { MaxDeliveries } from "../errors.js";
import type { Stage } from "./stage.js";

/**
 * The dead-letter guard for events no attempt settled. The worker asks the
 * broker for one delivery more than `maxDeliver`; settle dead-letters a
 * failing event on its last ordinary attempt, so a delivery past it only
 * happens when the worker holding the last attempt died or hung. This stage
 * fails such a delivery at once (REALER_ERR_MAX_DELIVERIES, dropped), without
 * running the stages that may have killed the worker, and settle dead-letters it.
 *
 * Its name in the ledger and in dead letters (Realer-Stage) is "attempts",
 * which dashboards and `realer audit` read.
 */
export function maxDeliveriesGuard(maxDeliver: number): Stage<"claimed"> {
  return {
    kind: "sync",
    name: "attempts",
    failures: [MaxDeliveries],
    needs: "claimed",
    gives: "claimed",
    run: (job) => {
      const n = job.delivery.deliveryCount;
      if (maxDeliver > 0 && n > maxDeliver) throw new MaxDeliveries(n - 1);
      return job;
    },
  };
}
