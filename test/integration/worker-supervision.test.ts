/**
 * Supervision: SIGTERM drains a worker process (it stops pulling and settles
 * everything it holds before it exits); failed pulls are retried with
 * backoff; a server restart in the middle of a run loses nothing and
 * duplicates nothing. The pull retries run on both brokers; the worker
 * process and the server restart need a real nats-server.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { Broker } from "../../src/broker/types.js";
import { forEachBroker } from "../helpers/brokers.js";
import { waitFor } from "../helpers/wait.js";
import {
  comment,
  consumerCounts,
  type InProcessWorker,
  publishEvents,
  readChannels,
  spawnWorker,
  startInProcessWorker,
  startWorkerFixture,
  tally,
  type WorkerFixture,
  type WorkerProcess,
} from "./worker-helpers.js";

forEachBroker((kind, sb) => {
  describe("worker supervision", () => {
    let running: InProcessWorker | undefined;
    let child: WorkerProcess | undefined;
    afterEach(async () => {
      child?.proc.kill("SIGKILL");
      await child?.exited;
      child = undefined;
      await running?.stop();
      running = undefined;
    });

    // JetStream only: a worker process shares the streams with this one only through nats-server.
    if (kind === "jetstream")
      it("drains on SIGTERM: stops pulling, settles every claim, exits 0", { timeout: 90_000 }, async (t) => {
        const fx = await startWorkerFixture(sb, () => {}, { defaultNames: true });
        const { broker, cfg } = fx;
        const N = 10_000;
        const events = Array.from({ length: N }, (_, i) => comment(`t${i % 20}`, `comment ${i}`));
        await publishEvents(broker, cfg, events);
        child = spawnWorker(sb.server!.url, { REALER_WORKER_MAX_IN_FLIGHT: "256" });
        await waitFor(async () => (await broker.streamState(cfg.streams.channels.name)).messages >= 1000, {
          timeoutMs: 60_000,
          what: "1000 channel messages",
        });
        child.proc.kill("SIGTERM");
        assert.deepEqual(await child.exited, { code: 0, signal: null }, child.output());

        const after = await consumerCounts(broker, cfg);
        t.diagnostic(`left for later: ${after.pending} of ${N}`);
        assert.equal(after.ackPending, 0, "no claim was left unsettled");
        assert.ok(after.pending > 0, "it stopped pulling before the backlog ended");
        const stored = await readChannels(broker, cfg);
        assert.equal(stored.length, N - after.pending, "every event it took was fully published and acked");

        running = await startInProcessWorker(fx);
        await waitFor(() => running!.settled.length >= after.pending, {
          timeoutMs: 60_000,
          what: "the rest settled",
        });
        assert.ok(
          running.settled.every((s) => s.outcome === "acked" && s.job.delivery.deliveryCount === 1),
          "nothing the drained worker held came back",
        );
        const { perChannel, duplicates } = tally(await readChannels(broker, cfg));
        assert.deepEqual(duplicates, []);
        for (const n of perChannel.values()) assert.equal(n, N / 20);
      });

    it("retries failed pulls with backoff and then processes everything", async () => {
      // One partition: every pull is that partition's, so each failure delays the whole run.
      const fx = await startWorkerFixture(sb, (c) => {
        c.subjects.eventPartitions = 1;
      });
      let failing = 3;
      let pulls = 0;
      const flaky = new Proxy(fx.broker as Broker, {
        get(target, prop) {
          if (prop !== "fetch") {
            const v: unknown = Reflect.get(target, prop, target);
            return typeof v === "function" ? v.bind(target) : v;
          }
          return (...args: Parameters<Broker["fetch"]>) => {
            pulls++;
            if (failing > 0) {
              failing--;
              throw new Error("connection reset");
            }
            return target.fetch(...args);
          };
        },
      });
      await publishEvents(
        fx.broker,
        fx.cfg,
        Array.from({ length: 200 }, (_, i) => comment(`t${i % 3}`, `c${i}`)),
      );
      const t0 = Date.now();
      running = await startInProcessWorker(fx, { broker: flaky });
      await waitFor(() => running!.settled.length >= 200, { timeoutMs: 30_000, what: "200 events settled" });
      // Backoff 200 + 400 + 800 ms before the fourth pull could work.
      assert.ok(Date.now() - t0 >= 1_300, "it waited between failed pulls");
      assert.ok(pulls > 3);
      assert.equal(running.worker.pullFailures, 0, "the failure count resets after a good pull");
      assert.equal(running.settled.filter((s) => s.outcome === "acked").length, 200);
    });

    // JetStream only: it restarts the nats-server.
    if (kind === "jetstream")
      it("loses and duplicates nothing when the server restarts mid-run", { timeout: 90_000 }, async () => {
        const fx: WorkerFixture = await startWorkerFixture(sb);
        const { broker, cfg } = fx;
        const server = sb.server!;
        const N = 3_000;
        await publishEvents(
          broker,
          cfg,
          Array.from({ length: N }, (_, i) => comment(`t${i % 10}`, `comment ${i}`)),
        );
        running = await startInProcessWorker(fx);
        await waitFor(async () => (await broker.streamState(cfg.streams.channels.name)).messages >= 500, {
          timeoutMs: 30_000,
          what: "500 channel messages",
        });
        await server.restart();
        await waitFor(
          async () => {
            const c = await consumerCounts(broker, cfg);
            return c.pending === 0 && c.ackPending === 0;
          },
          { timeoutMs: 60_000, intervalMs: 250, what: "every event settled after the restart" },
        );
        const { perChannel, duplicates } = tally(await readChannels(broker, cfg));
        assert.deepEqual(duplicates, []);
        assert.equal(perChannel.size, 10);
        for (const n of perChannel.values()) assert.equal(n, N / 10);
      });
  });
});
