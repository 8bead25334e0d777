/**
 * Per-key order at concurrency 64: jobs of one key run one after another and
 * their channel messages are stored in event order, while jobs of different
 * keys overlap (up to the worker's maxInFlight and the partitions the keys
 * fall in). On both brokers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { partitionOf } from "../../src/events/partition.js";
import { enrich } from "../../src/pipeline/enrich.js";
import { forEachBroker } from "../helpers/brokers.js";
import { waitFor } from "../helpers/wait.js";
import {
  comment,
  type InProcessWorker,
  publishInOrder,
  readChannels,
  startInProcessWorker,
  startWorkerFixture,
  type WorkerFixture,
} from "./worker-helpers.js";

const KEYS = 100;
const PER_KEY = 20;
const CONCURRENCY = 64;
/** Events of one partition are processed one at a time: keys run in parallel up to the partitions they cover. */
const PARTITIONS = 64;

forEachBroker((_kind, sb) => {
  describe("per-key order", () => {
    let fx: WorkerFixture;
    let running: InProcessWorker | undefined;
    before(async () => {
      fx = await startWorkerFixture(sb, (c) => {
        c.worker.maxInFlight = CONCURRENCY;
        c.subjects.eventPartitions = PARTITIONS;
      });
    });
    after(async () => {
      await running?.stop();
    });

    it("keeps the events of each key in order at concurrency 64 while keys run in parallel", {
      timeout: 90_000,
    }, async (t) => {
      const events = [];
      for (let i = 0; i < PER_KEY; i++) for (let k = 0; k < KEYS; k++) events.push(comment(`k${k}`, `${i}`));
      await publishInOrder(fx.broker, fx.cfg, events);

      let active = 0;
      let peak = 0;
      const started = new Map<string, number[]>();
      const jitter = enrich(
        "jitter",
        async (job) => {
          active++;
          peak = Math.max(peak, active);
          const key = job.event!.key;
          const n = Number((job.body!.comment as { text: string }).text);
          if (!started.has(key)) started.set(key, []);
          started.get(key)!.push(n);
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 8)));
          active--;
          return {};
        },
        { timeoutMs: 10_000 },
      );
      running = await startInProcessWorker(fx, {
        spec: { "*": ["validate", jitter, "route", "format", "publish"] },
      });
      await waitFor(() => running!.settled.length >= KEYS * PER_KEY, {
        timeoutMs: 60_000,
        what: "every event settled",
      });

      t.diagnostic(`peak jobs in the jitter stage at once: ${peak}`);
      const covered = new Set(events.map((e) => partitionOf(e.key, PARTITIONS))).size;
      assert.ok(
        peak > Math.min(CONCURRENCY, covered) / 2,
        `keys ran in parallel (peak ${peak} of ${covered} partitions)`,
      );
      assert.ok(peak <= CONCURRENCY, `never more than maxInFlight (peak ${peak})`);
      const inOrder = Array.from({ length: PER_KEY }, (_, i) => i);
      for (const [key, seen] of started) assert.deepEqual(seen, inOrder, `${key} was processed in order`);
      assert.equal(started.size, KEYS);

      const perChannel = new Map<string, number[]>();
      for (const r of await readChannels(fx.broker, fx.cfg)) {
        const html = (JSON.parse(r.data) as { html: string }).html;
        if (!perChannel.has(r.channel)) perChannel.set(r.channel, []);
        perChannel.get(r.channel)!.push(Number(html));
      }
      assert.equal(perChannel.size, KEYS);
      for (const [channel, seen] of perChannel)
        assert.deepEqual(seen, inOrder, `${channel} stored in event order`);
      assert.ok(running.settled.every((s) => s.outcome === "acked"));
    });
  });
});
