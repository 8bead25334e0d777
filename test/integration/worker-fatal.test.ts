/**
 * A fatal failure is a state of the worker's lifecycle: the worker is
 * "failed", holds the failure, resolves `fatal`, pulls nothing more, and
 * stays failed through `stop()`. On both brokers.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { codeOf, StageFatal } from "../../src/errors.js";
import { syncStage } from "../../src/pipeline/stage.js";
import { forEachBroker } from "../helpers/brokers.js";
import { waitFor } from "../helpers/wait.js";
import {
  comment,
  type InProcessWorker,
  publishInOrder,
  startInProcessWorker,
  startWorkerFixture,
} from "./worker-helpers.js";

const explode = syncStage("explode", [StageFatal], () => {
  throw new StageFatal("explode", "its dependency is misconfigured");
});

forEachBroker((_kind, sb) => {
  describe("a worker's fatal failure", () => {
    let running: InProcessWorker | undefined;
    let next: InProcessWorker | undefined;
    afterEach(async () => {
      await running?.stop();
      await next?.stop();
      running = next = undefined;
    });

    it("fails the worker: state failed with the failure, fatal resolved, no more pulls, its event handed back", async () => {
      // One partition and one slot: the worker holds one event at a time.
      const fx = await startWorkerFixture(sb, (c) => {
        c.subjects.eventPartitions = 1;
        c.worker.maxInFlight = 1;
      });
      await publishInOrder(
        fx.broker,
        fx.cfg,
        Array.from({ length: 5 }, (_, i) => comment("t1", `comment ${i}`)),
      );
      running = await startInProcessWorker(fx, { spec: { "*": ["validate", explode] } });
      const { worker } = running;

      const err = await worker.fatal;
      assert.equal(codeOf(err), "REALER_ERR_STAGE_FATAL");
      assert.equal(worker.state, "failed");
      assert.equal(worker.failure, err);
      assert.deepEqual(
        running.settled.map((s) => s.outcome),
        ["fatal"],
      );

      await worker.stop();
      assert.equal(worker.state, "failed", "stop() leaves a failed worker failed");
      assert.equal(worker.counts.claimed, 1, "it pulled nothing after failing");

      // The failed event was handed back (nak'ed): the next worker gets it again, then the rest.
      next = await startInProcessWorker(fx);
      await waitFor(() => next!.settled.length === 5, { what: "the five events settled by the next worker" });
      assert.ok(next.settled.every((s) => s.outcome === "acked"));
      assert.equal(next.settled[0]!.job.delivery.deliveryCount, 2);
    });
  });
});
