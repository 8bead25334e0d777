/**
 * A redelivered event publishes its channel messages again; the channel
 * stream suppresses them only inside its duplicate window. Start-up refuses
 * a worker whose redeliveries can come later than that, and one that passes
 * the check stores each output once, on both brokers. A short window (2-4 s)
 * keeps the cases fast.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadDomain, startWorker } from "../../src/cli/components.js";
import type { RealerConfig } from "../../src/config/config.js";
import { encodeEvent } from "../../src/events/envelope.js";
import { createLogger } from "../../src/log/logger.js";
import { asyncStage } from "../../src/pipeline/stage.js";
import { checkDuplicateWindow, redeliverySpanMs } from "../../src/worker/redelivery.js";
import { forEachBroker } from "../helpers/brokers.js";
import { waitFor } from "../helpers/wait.js";
import {
  comment,
  eventSubjectOf,
  startInProcessWorker,
  startWorkerFixture,
  type WorkerFixture,
} from "./worker-helpers.js";

type Fixture = WorkerFixture;

/**
 * Two deliveries: the first stores the outputs, holds its claim for most of
 * the ack wait and fails (retried after `retryDelayMs`); the second stores
 * them again and is acked. Span: 2 x 1000 + retry delay.
 */
function shortWindow(c: RealerConfig, retryDelayMs: number, windowMs: number): void {
  c.worker.ackWaitMs = 1000;
  c.worker.maxDeliver = 2;
  c.worker.retryDelayMs = retryDelayMs;
  c.worker.maxRetryDelayMs = retryDelayMs;
  c.streams.channels.duplicateWindowMs = windowMs;
}

const failFirstDeliveryLate = asyncStage("fail-first-delivery", [], async (job) => {
  if (job.delivery.deliveryCount > 1) return job;
  await new Promise((r) => setTimeout(r, 800));
  throw new Error("passing failure after the outputs were stored");
});

async function channelCopies(fx: Fixture, eventId: string): Promise<number> {
  const { lastSeq } = await fx.broker.streamState(fx.cfg.streams.channels.name);
  let n = 0;
  if (lastSeq === 0) return 0;
  for await (const m of fx.broker.read(fx.cfg.streams.channels.name, { fromSeq: 1 }))
    if (new TextDecoder().decode(m.data).includes(eventId)) n++;
  return n;
}

/** Publishes one event through a worker whose first delivery fails late; resolves once it is acked. */
async function deliverTwice(fx: Fixture): Promise<{ copies: number; deliveries: number }> {
  const w = await startInProcessWorker(fx, {
    spec: { "*": ["validate", "route", "format", "publish", failFirstDeliveryLate] },
  });
  try {
    const e = comment("dw", "twice");
    await fx.broker.publish(eventSubjectOf(fx.cfg, e), encodeEvent(e), { msgId: e.id });
    const acked = await waitFor(() => w.settled.find((s) => s.outcome === "acked"), {
      timeoutMs: 15_000,
      what: "the event to be acked on its second delivery",
    });
    return { copies: await channelCopies(fx, e.id), deliveries: acked.job.delivery.deliveryCount };
  } finally {
    await w.stop();
  }
}

describe("worker redeliveries and the channel stream's duplicate window", () => {
  forEachBroker((_kind, sb) => {
    it("refuses to start a worker whose redeliveries can outlast the window", async () => {
      const fx = await startWorkerFixture(sb, (c) => shortWindow(c, 2000, 3999));
      assert.equal(redeliverySpanMs(fx.cfg.worker), 4000);
      await assert.rejects(startWorker(fx.broker, fx.cfg, loadDomain(), createLogger({ level: "silent" })), {
        code: "REALER_ERR_DUPLICATE_WINDOW_SHORT",
      });
    });

    it("stores an event's outputs once when a redelivery comes late inside a window that covers the span", async () => {
      const fx = await startWorkerFixture(sb, (c) => shortWindow(c, 2000, 4000));
      checkDuplicateWindow(fx.cfg.worker, fx.cfg.streams.channels);
      assert.deepEqual(await deliverTwice(fx), { copies: 1, deliveries: 2 });
    });

    it("stores them twice when the window is shorter than the redelivery (what the check prevents)", async () => {
      const fx = await startWorkerFixture(sb, (c) => shortWindow(c, 2000, 1500));
      assert.throws(() => checkDuplicateWindow(fx.cfg.worker, fx.cfg.streams.channels));
      assert.deepEqual(await deliverTwice(fx), { copies: 2, deliveries: 2 });
    });
  });
});
