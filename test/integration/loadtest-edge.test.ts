/**
 * `runBench` against a real realer (ingest -> worker -> edge, in this
 * process) on each broker: every message of a channel reaches every
 * subscriber of it once and in order, through the HTTP ingest with an API
 * key; without the key, the run stops with the ingest's answer.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runBench } from "../../src/loadtest/bench.js";
import { forEachBroker } from "../helpers/brokers.js";
import { type Stack, startStack, testConfig } from "../helpers/stack.js";

const KEY = "bench-test-key";

forEachBroker((_kind, sb) => {
  describe("runBench against a realer edge", () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(sb.broker, {
        cfg: testConfig((c) => {
          c.ingest.keys = [KEY];
        }),
      });
    });
    after(async () => {
      await stack?.close();
    });

    it("sees every message once and in order on every subscriber, published through the HTTP ingest", async () => {
      const r = await runBench({
        url: stack.edge!.url,
        apiKey: KEY,
        subscribers: 60,
        channels: 4,
        processes: 2,
        // Two addresses' worth: the default per-address limit (1,000) is not what is tested here.
        perAddress: 30,
        rate: 80,
        durationMs: 1_500,
        graceMs: 10_000,
      });
      assert.equal(r.publish.sent, 120);
      assert.equal(r.publish.failed, 0);
      assert.equal(r.sourceAddresses, 2);
      assert.equal(r.connect.openAtStart, 60);
      assert.equal(r.totals.expected, 60 * 30);
      assert.equal(r.totals.delivered, 60 * 30);
      assert.deepEqual(
        [r.totals.lost, r.totals.duplicates, r.totals.outOfOrder, r.totals.strays],
        [0, 0, 0, 0],
      );
      assert.deepEqual([r.totals.resets, r.totals.errors, r.totals.closes, r.totals.failures], [0, 0, 0, 0]);
      assert.ok(
        r.latency.p50Ms !== null && r.latency.p50Ms > 0 && r.latency.p99Ms! < 5_000,
        JSON.stringify(r.latency),
      );
      assert.ok(r.series.some((s) => s.deliveries > 0 && s.open === 60));
    });

    it("steps a burst on one channel up until a step does not keep up", async () => {
      const base = {
        url: stack.edge!.url,
        apiKey: KEY,
        subscribers: 30,
        profile: "burst" as const,
        stepMs: 600,
        graceMs: 5_000,
      };
      const kept = await runBench({ ...base, rates: [20, 40] });
      assert.deepEqual(
        kept.steps!.map((s) => [s.rate, s.sent, s.missing, s.keptUp]),
        [
          [20, 12, 0, true],
          [40, 24, 0, true],
        ],
      );
      assert.equal(kept.steps![1]!.deliveries, 30 * 24);
      assert.equal(kept.totals.delivered, 30 * 36);
      // A latency bound no delivery can meet: the first step does not keep up, and the run stops there.
      const stopped = await runBench({ ...base, rates: [20, 40], maxP99Ms: 0.001 });
      assert.deepEqual(
        stopped.steps!.map((s) => [s.rate, s.keptUp]),
        [[20, false]],
      );
      assert.equal(stopped.publish.sent, 12);
    });

    it("refuses to publish without the ingest's API key, saying what the server answered", async () => {
      await assert.rejects(
        runBench({
          url: stack.edge!.url,
          subscribers: 2,
          channels: 1,
          rate: 50,
          durationMs: 500,
          graceMs: 0,
        }),
        (err: Error & { code?: string }) =>
          err.code === "REALER_ERR_BENCH_PUBLISH_REFUSED" &&
          /401/.test(err.message) &&
          /INGEST_UNAUTHORIZED/.test(err.message),
      );
    });
  });
});
