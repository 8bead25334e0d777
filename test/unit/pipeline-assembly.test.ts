/**
 * Pipelines assembled from configuration and user stages, run by a worker on
 * the in-memory broker: stage lists per type, configuration errors, and the
 * ledger (every stage's in equals the sum of its outs once the worker is idle).
 */

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import { defaultConfig } from "../../src/config/config.js";
import { encodeEvent } from "../../src/events/envelope.js";
import { eventSubject } from "../../src/events/partition.js";
import { createLogger } from "../../src/log/logger.js";
import { registry as metrics } from "../../src/metrics/registry.js";
import { filter } from "../../src/pipeline/filter.js";
import {
  compilePipeline,
  DEFAULT_STAGES,
  namedStages,
  type PipelineOptions,
} from "../../src/pipeline/pipeline.js";
import type { Settled } from "../../src/pipeline/settle.js";
import { syncStage } from "../../src/pipeline/stage.js";
import { TurnWrites } from "../../src/pipeline/turn-writes.js";
import { Worker } from "../../src/worker/worker.js";
import { waitFor } from "../helpers/wait.js";
import { commentEvent, domain } from "./stage-fixtures.js";

type Ledger = Map<string, number>;

/** realer_stage_in_total and realer_stage_out_total, flattened to "in|stage" and "out|stage|outcome". */
async function ledger(): Promise<Ledger> {
  const out: Ledger = new Map();
  for (const m of await metrics.getMetricsAsJSON()) {
    if (m.name !== "realer_stage_in_total" && m.name !== "realer_stage_out_total") continue;
    for (const v of (m as unknown as { values: { value: number; labels: Record<string, string> }[] })
      .values) {
      const k =
        m.name === "realer_stage_in_total"
          ? `in|${v.labels.stage}`
          : `out|${v.labels.stage}|${v.labels.outcome}`;
      out.set(k, v.value);
    }
  }
  return out;
}

function delta(before: Ledger, after: Ledger): Ledger {
  const d: Ledger = new Map();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) !== 0) d.set(k, v - (before.get(k) ?? 0));
  return d;
}

describe("assembled pipelines", () => {
  let broker: MemoryBroker;
  let worker: Worker | undefined;
  const cfg = defaultConfig();
  cfg.worker.retryDelayMs = 10;
  cfg.worker.maxDeliver = 3;
  cfg.worker.fetchExpiresMs = 200;

  beforeEach(async () => {
    broker = new MemoryBroker();
    for (const s of Object.values(cfg.streams)) await broker.ensureStream({ ...s, storage: "memory" });
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await broker.close();
  });

  function options(over: Partial<PipelineOptions> = {}): PipelineOptions {
    const { registry, handlers } = domain();
    return { broker, registry, handlers, channelPrefix: cfg.subjects.channels, ...over };
  }

  async function runWorker(o: PipelineOptions) {
    const settled: Settled[] = [];
    worker = new Worker({
      broker,
      stream: cfg.streams.events.name,
      eventPrefix: cfg.subjects.events,
      partitions: cfg.subjects.eventPartitions,
      deadLetterPrefix: cfg.subjects.deadLetters,
      config: cfg.worker,
      pipeline: compilePipeline(o),
      log: createLogger({ level: "silent" }),
      onSettled: (s) => settled.push(s),
    });
    await worker.start();
    return settled;
  }

  const publish = (e: ReturnType<typeof commentEvent>) =>
    broker.publish(
      eventSubject(cfg.subjects.events, cfg.subjects.eventPartitions, e.type, e.key),
      encodeEvent(e),
      {
        msgId: e.id,
      },
    );

  it("refuses an unknown stage name or a pipeline for an unregistered type with REALER_ERR_CONFIG_INVALID", () => {
    assert.throws(() => compilePipeline(options({ spec: { "*": ["validate", "teleport"] } })), {
      code: "REALER_ERR_CONFIG_INVALID",
      message: /unknown stage "teleport"/,
    });
    assert.throws(() => compilePipeline(options({ spec: { "nope.v1.Thing": DEFAULT_STAGES } })), {
      code: "REALER_ERR_CONFIG_INVALID",
    });
    // A stage before what it needs would fail every event: it is a configuration error instead.
    assert.throws(
      () => compilePipeline(options({ spec: { "*": ["validate", "format", "route", "publish"] } })),
      {
        code: "REALER_ERR_CONFIG_INVALID",
        message: /stage "format" needs a routed job: put it after route/,
      },
    );
    assert.throws(() => compilePipeline(options({ spec: { "*": ["validate", "route", "publish"] } })), {
      code: "REALER_ERR_CONFIG_INVALID",
      message: /stage "publish" needs a formatted job: put it after format/,
    });
    assert.deepEqual(
      [...namedStages(options(), new TurnWrites()).keys()],
      ["validate", "dedupe", "route", "format", "publish"],
    );
  });

  it("runs user stages named in configuration, and balances the ledger of every stage", async () => {
    let flaky = 0;
    const stages = new Map([
      [
        "no-spam",
        () => filter("no-spam", (j) => !(j.body!.comment as { text: string }).text.includes("spam"), "spam"),
      ],
      [
        "flaky-once",
        () =>
          syncStage("flaky-once", [], (j) => {
            if ((j.body!.comment as { text: string }).text === "flaky" && flaky++ === 0)
              throw new Error("blip");
            return j;
          }),
      ],
      [
        "poison",
        () =>
          syncStage("poison", [], (j) => {
            if ((j.body!.comment as { text: string }).text === "poison") throw new Error("always");
            return j;
          }),
      ],
    ]);
    const spec = {
      "*": ["validate", "no-spam", "flaky-once", "poison", "dedupe", "route", "format", "publish"],
    };
    const before = await ledger();
    const settled = await runWorker(options({ spec, stages }));
    for (const text of ["a", "buy spam", "flaky", "poison", "b"]) await publish(commentEvent("1", text));
    await publish(commentEvent("", "no thread"));
    await waitFor(() => settled.filter((s) => s.outcome !== "retried").length >= 6, {
      what: "six events settled",
    });
    await waitFor(() => worker!.inFlight === 0, { what: "the worker idle" });

    const d = delta(before, await ledger());
    const stagesSeen = new Set([...d.keys()].map((k) => k.split("|")[1]!));
    for (const stage of stagesSeen) {
      const ins = d.get(`in|${stage}`) ?? 0;
      const outs = [...d].filter(([k]) => k.startsWith(`out|${stage}|`)).reduce((a, [, v]) => a + v, 0);
      assert.equal(outs, ins, `stage ${stage}: in ${ins}, out ${outs}`);
    }
    assert.equal(d.get("out|no-spam|dropped"), 1);
    assert.equal(d.get("out|flaky-once|retried"), 1);
    // A stage counts what it reported (a retryable failure, on each of the 3
    // deliveries); settle decides what happens, and dead-letters the last.
    assert.equal(d.get("out|poison|retried"), 3);
    assert.equal(d.get("out|poison|dropped"), undefined);
    assert.equal(d.get("out|route|dropped"), 1, "the event without a thread");
    assert.equal(d.get("out|publish|passed"), 3, "a, b and flaky (on its second delivery)");
    const outcomes = settled.map((s) => s.outcome).sort();
    assert.deepEqual(outcomes, [
      "acked",
      "acked",
      "acked",
      "acked",
      "dead",
      "dead",
      "retried",
      "retried",
      "retried",
    ]);
  });

  it("gives each event type its own stage list", async () => {
    const seen: string[] = [];
    const mark = syncStage("mark", [], (j) => {
      seen.push(j.event!.type);
      return j;
    });
    const settled = await runWorker(
      options({ spec: { "comments.v1.CommentCreated": ["validate", mark, "route", "format", "publish"] } }),
    );
    await publish(commentEvent("1", "x"));
    await waitFor(() => settled.length >= 1, { what: "one event settled" });
    assert.deepEqual(seen, ["comments.v1.CommentCreated"]);
    assert.equal(settled[0]?.outcome, "acked");
  });
});
