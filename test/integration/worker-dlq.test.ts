/**
 * Dead letters, on both brokers: a poison event is retried, then stored
 * on the dead-letter stream with why, where and how often it failed, while
 * the other events flow; and an event whose worker died on its last delivery
 * is dead-lettered too (the consumer allows one delivery more, which the
 * attempts stage turns into a dead letter).
 */

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { BrokerAdmin, Delivery, StoredMessage } from "../../src/broker/types.js";
import { EventInvalid } from "../../src/errors.js";
import { decodeEvent, encodeEvent } from "../../src/events/envelope.js";
import { headerProblem } from "../../src/events/envelope-rules.js";
import { partitionOf } from "../../src/events/partition.js";
import { workerConsumerState } from "../../src/ops/worker-consumers.js";
import { syncStage } from "../../src/pipeline/stage.js";
import { partitionConsumer } from "../../src/worker/worker.js";
import { forEachBroker } from "../helpers/brokers.js";
import { waitFor } from "../helpers/wait.js";
import {
  comment,
  eventSubjectOf,
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
      // A job is settled just after its output is stored.
      await waitFor(() => running!.settled.filter((s) => s.outcome === "acked").length === 300, {
        what: "the other 300 acked",
      });
      assert.equal((await deadLetters(fx)).length, 1);
    });

    it("dead-letters an event whose worker died on its last delivery, without running its stages again", async () => {
      fx.cfg.worker.ackWaitMs = 600;
      const { broker, cfg } = fx;
      const poison = comment("t9", "kills every worker that touches it");
      // The consumer of the poison's partition, as the workers share it.
      const consumer = partitionConsumer(
        cfg.streams.events.name,
        cfg.subjects.events,
        cfg.worker,
        partitionOf(poison.key, cfg.subjects.eventPartitions),
      );
      await broker.ensureConsumer(consumer);
      await publishEvents(broker, cfg, [poison]);
      // Three workers claim it and die without settling: their claims run out.
      const claimed: Delivery[] = [];
      for (let i = 0; i < cfg.worker.maxDeliver; i++) {
        for await (const d of broker.fetch(cfg.streams.events.name, consumer.durable, {
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

    it("dead-letters an event whose headers NATS would refuse, encoding them, so it is never left unsettled", async () => {
      // Headers a producer that skips realer's checks could put in an event's bytes.
      const hostile: Record<string, string> = {
        tenant: "acme",
        "bad name": "space in the name",
        "X-Crlf": "one\r\ntwo",
        "X-Control": "bell\u0007",
        "Nats-Msg-Id": "steer-the-dedupe",
        "Nats-Expected-Stream": "NOT_THE_DLQ",
        "": "empty name",
        "X-Big": "z".repeat(20_000),
      };
      const e = comment("t9", "hostile headers");
      e.id = "id-with\r\nnewline";
      e.headers = hostile;
      const breaks = syncStage("breaks", [], (job) => {
        if (job.event!.key === "thread:t9") throw new EventInvalid("refused on purpose");
        return job;
      });
      running = await startInProcessWorker(fx, {
        spec: { "*": ["validate", breaks, "route", "format", "publish"] },
      });
      await fx.broker.publish(eventSubjectOf(fx.cfg, e), encodeEvent(e), { msgId: "hostile-1" });

      const [dead] = await waitFor(
        async () => ((await deadLetters(fx)).length > 0 ? deadLetters(fx) : undefined),
        {
          timeoutMs: 30_000,
          what: "the dead letter",
        },
      );
      assert.ok(dead);
      assert.equal(
        decodeEvent(dead.data).headers["X-Crlf"],
        "one\r\ntwo",
        "the event's bytes are kept whole",
      );
      const h = dead.headers;
      assert.equal(h["Realer-Code"], "REALER_ERR_EVENT_INVALID");
      assert.equal(h.tenant, "acme");
      assert.equal(h["Realer-Header-bad%20name"], "space%20in%20the%20name");
      assert.equal(h["Realer-Header-X-Crlf"], "one%0D%0Atwo");
      assert.equal(h["Realer-Header-X-Control"], "bell%07");
      assert.equal(h["Realer-Header-Nats-Msg-Id"], "steer-the-dedupe");
      assert.equal(h["Realer-Header-Nats-Expected-Stream"], "NOT_THE_DLQ");
      assert.equal(h["Realer-Header-"], "empty%20name");
      assert.equal(h["Realer-Headers-Omitted"], "1", "the 20 KB header is left out");
      assert.equal(h["Realer-Event-Id"], "id-with%0D%0Anewline");
      for (const [k, v] of Object.entries(h)) {
        // JetStream keeps the dead letter's own dedupe id; nothing else may steer its publish.
        if (k === "Nats-Msg-Id") assert.match(v, /^dlq:/);
        else assert.equal(headerProblem(k, v), undefined, `${k}: ${v}`);
      }
      const settled = await waitFor(() => running!.settled.find((s) => s.job.event?.id === e.id));
      assert.equal(settled.outcome, "dead");
      await waitFor(
        async () => {
          const c = (await workerConsumerState(fx.broker as unknown as BrokerAdmin, fx.cfg))!;
          return c.ackPending === 0 && c.pending === 0;
        },
        { what: "the event to be settled on the events stream" },
      );
    });
  });
});
