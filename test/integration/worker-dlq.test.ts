/**
 * Dead letters, on both brokers: a poison event is retried, then stored
 * on the dead-letter stream with why, where and how often it failed, while
 * the other events flow; and an event whose worker died on its last delivery
 * is dead-lettered too (the consumer allows one delivery more, which the
 * attempts stage turns into a dead letter).
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Delivery, StoredMessage } from "../../src/broker/types.js";
import { decodeEvent } from "../../src/events/envelope.js";
import { syncStage } from "../../src/pipeline/stage.js";
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

async function deadLetters(fx: WorkerFixture): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  const { lastSeq } = await fx.broker.streamState(fx.cfg.streams.deadLetters.name);
  if (lastSeq === 0) return out;
  for await (const m of fx.broker.read(fx.cfg.streams.deadLetters.name, { fromSeq: 1 })) out.push(m);
  return out;
}

forEachBroker((_kind, sb) => {
  describe("dead letters", () => {
    let fx: WorkerFixture;
    let running: InProcessWorker | undefined;
    beforeEach(async () => {
      fx = await startWorkerFixture(sb, (c) => {
        c.worker.maxDeliver = 3;
        c.worker.retryDelayMs = 50;
      });
    });
    afterEach(async () => {
      await running?.stop();
      running = undefined;
    });

    it("stores a poison event on the dead-letter stream after max deliveries, with its reason, and the rest flows", async () => {
      const events = Array.from({ length: 300 }, (_, i) => comment(`t${i % 5}`, `comment ${i}`));
      const poison = comment("t2", "this one always breaks");
      poison.headers = { tenant: "acme" };
      events.splice(150, 0, poison);
      const breaks = syncStage("inspect", [], (job) => {
        if (job.event!.id === poison.id) throw new Error("template crashed on comment");
        return job;
      });
      running = await startInProcessWorker(fx, {
        spec: { "*": ["validate", breaks, "route", "format", "publish"] },
      });
      await publishEvents(fx.broker, fx.cfg, events);

      const [dead] = await waitFor(
        async () => ((await deadLetters(fx)).length > 0 ? deadLetters(fx) : undefined),
        {
          timeoutMs: 30_000,
          what: "a dead letter",
        },
      );
      const channels = await waitFor(
        async () => {
          const r = await readChannels(fx.broker, fx.cfg);
          return r.length >= 300 ? r : undefined;
        },
        { timeoutMs: 30_000, what: "the other 300 channel messages" },
      );

      assert.ok(dead);
      assert.equal(decodeEvent(dead.data).id, poison.id, "the dead letter is the original event");
      assert.equal(dead.subject, `${fx.cfg.subjects.deadLetters}.comments_v1_CommentCreated`);
      assert.equal(dead.headers["Realer-Reason"], "template crashed on comment");
      assert.equal(dead.headers["Realer-Stage"], "inspect");
      assert.equal(dead.headers["Realer-Attempts"], "3");
      assert.equal(dead.headers["Realer-Event-Id"], poison.id);
      assert.equal(dead.headers.tenant, "acme", "the event's own headers are kept");
      assert.equal(channels.length, 300);
      assert.ok(!channels.some((c) => c.eventId === poison.id), "the poison event produced nothing");
      const mine = running.settled.filter(
        (s) => s.job.delivery.seq === Number(dead.headers["Realer-Source-Seq"]),
      );
      assert.deepEqual(
        mine.map((s) => s.outcome),
        ["retried", "retried", "dead"],
      );
      assert.equal(running.settled.filter((s) => s.outcome === "acked").length, 300);
      assert.equal((await deadLetters(fx)).length, 1);
    });

    it("dead-letters an event whose worker died on its last delivery, without running its stages again", async () => {
      fx.cfg.worker.ackWaitMs = 600;
      const { broker, cfg } = fx;
      const poison = comment("t9", "kills every worker that touches it");
      await broker.ensureConsumer({
        stream: cfg.streams.events.name,
        durable: cfg.worker.durable,
        ackWaitMs: cfg.worker.ackWaitMs,
        maxDeliver: cfg.worker.maxDeliver + 1,
        maxAckPending: cfg.worker.maxAckPending,
      });
      await publishEvents(broker, cfg, [poison]);
      // Three workers claim it and die without settling: their claims run out.
      const claimed: Delivery[] = [];
      for (let i = 0; i < cfg.worker.maxDeliver; i++) {
        for await (const d of broker.fetch(cfg.streams.events.name, cfg.worker.durable, {
          max: 1,
          expiresMs: 5_000,
        })) {
          claimed.push(d);
        }
      }
      assert.deepEqual(
        claimed.map((d) => d.deliveryCount),
        [1, 2, 3],
      );

      let ran = 0;
      const counts = syncStage("count", [], (job) => {
        ran++;
        return job;
      });
      running = await startInProcessWorker(fx, { spec: { "*": [counts, "route", "format", "publish"] } });
      const [dead] = await waitFor(
        async () => ((await deadLetters(fx)).length > 0 ? deadLetters(fx) : undefined),
        {
          timeoutMs: 20_000,
          what: "a dead letter",
        },
      );
      assert.ok(dead);
      assert.equal(dead.headers["Realer-Code"], "REALER_ERR_MAX_DELIVERIES");
      assert.equal(dead.headers["Realer-Stage"], "attempts");
      assert.equal(dead.headers["Realer-Attempts"], "4");
      assert.match(dead.headers["Realer-Reason"]!, /delivered 3 times without being settled/);
      assert.equal(ran, 0, "the stages never ran on it again");
      assert.deepEqual(
        running.settled.map((s) => s.outcome),
        ["dead"],
      );
      assert.equal((await readChannels(broker, cfg)).length, 0);
    });
  });
});
