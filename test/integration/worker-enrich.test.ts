/**
 * A slow enrich keeps its claim: while the lookup runs the stage signals
 * in-progress, so JetStream does not hand the event to another worker when
 * the ack wait passes. Without the signal it does: the control case shows
 * the test can tell the two apart. On both brokers.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { enrich } from "../../src/pipeline/enrich.js";
import { forEachBroker } from "../helpers/brokers.js";
import { waitFor } from "../helpers/wait.js";
import {
  comment,
  type InProcessWorker,
  publishEvents,
  readChannels,
  startInProcessWorker,
  startWorkerFixture,
  type WorkerFixture,
} from "./worker-helpers.js";

const ACK_WAIT_MS = 1_000;
const LOOKUP_MS = 3_000;

forEachBroker((_kind, sb) => {
  describe("a slow enrich", () => {
    let fx: WorkerFixture;
    let running: InProcessWorker | undefined;
    beforeEach(async () => {
      fx = await startWorkerFixture(sb, (c) => {
        c.worker.ackWaitMs = ACK_WAIT_MS;
      });
    });
    afterEach(async () => {
      await running?.stop();
      running = undefined;
    });

    async function run(heartbeatMs: number) {
      let calls = 0;
      const slow = enrich(
        "load-author",
        async (_job, signal) => {
          calls++;
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, LOOKUP_MS);
            signal.addEventListener("abort", () => clearTimeout(t), { once: true });
          });
          return { authorName: "Ann" };
        },
        { timeoutMs: 10_000, heartbeatMs },
      );
      running = await startInProcessWorker(fx, {
        spec: { "*": ["validate", slow, "route", "format", "publish"] },
      });
      const e = comment("t1", "takes a while to enrich");
      await publishEvents(fx.broker, fx.cfg, [e]);
      await waitFor(() => running!.settled.length >= 1, { timeoutMs: 20_000, what: "the event settled" });
      return { calls: () => calls, worker: running.worker, first: running.settled[0]! };
    }

    it("is not redelivered while it works past the ack wait", async () => {
      const { worker, first, calls } = await run(ACK_WAIT_MS / 4);
      assert.equal(first.outcome, "acked");
      assert.equal(first.job.delivery.deliveryCount, 1);
      assert.equal(first.job.context?.authorName, "Ann");
      // A redelivery would have come after ~1 s; the lookup took 3 s, and the
      // worker, idle meanwhile, would have claimed it.
      assert.equal(worker.counts.claimed, 1, "claimed once");
      assert.equal(calls(), 1);
      assert.equal((await readChannels(fx.broker, fx.cfg)).length, 1);
    });

    it("is redelivered when it does not signal in-progress (the control case)", async () => {
      const { worker } = await run(60_000);
      assert.ok(worker.counts.claimed >= 2, `claimed ${worker.counts.claimed} times`);
      // The redelivered copy publishes under the same dedupe id: still one channel message.
      await waitFor(() => running!.settled.length >= worker.counts.claimed, {
        timeoutMs: 20_000,
        what: "every copy settled",
      });
      assert.equal((await readChannels(fx.broker, fx.cfg)).length, 1);
    });
  });
});
