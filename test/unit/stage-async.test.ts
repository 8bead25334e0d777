/** Ordinary async tests for the asynchronous stages: enrich, batch, and user stages made with defineStage. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { delay, EMPTY, firstValueFrom, from, map, mergeMap, of, throwError, toArray } from "rxjs";
import { EventInvalid } from "../../src/errors.js";
import { batch } from "../../src/pipeline/batch.js";
import { compileStages } from "../../src/pipeline/compile.js";
import { enrich } from "../../src/pipeline/enrich.js";
import type { Job } from "../../src/pipeline/job.js";
import { defineStage, type Stage } from "../../src/pipeline/stage.js";
import { commentEvent, decodedJob, type FakeDelivery, outcome } from "./stage-fixtures.js";

const run = (stage: Stage, jobs: Job[]) => firstValueFrom(from(jobs).pipe(compileStages([stage]), toArray()));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("enrich stage", () => {
  it("merges what the lookup found into the job's context", async () => {
    const stage = enrich("author", async (j) => ({ authorName: `${j.event!.key}!` }));
    const [out] = await run(stage, [decodedJob(commentEvent("5", "x"))]);
    assert.equal(outcome(out!), "ok");
    assert.deepEqual(out!.context, { authorName: "thread:5!" });
  });

  it("renews the claim with working() while a lookup runs, and stops when it ends", async () => {
    const stage = enrich(
      "slow",
      async () => {
        await sleep(250);
        return {};
      },
      { heartbeatMs: 40 },
    );
    const job = decodedJob(commentEvent("5", "x"));
    await run(stage, [job]);
    const calls = (job.delivery as FakeDelivery).calls;
    assert.ok(calls.filter((c) => c === "working").length >= 3, `working() called: ${calls.join(",")}`);
    const after = calls.length;
    await sleep(120);
    assert.equal(calls.length, after, "no heartbeat after the lookup ended");
  });

  it("fails a lookup that outlasts its timeout with REALER_ERR_ENRICH_TIMEOUT (retried) and aborts it", async () => {
    let aborted = false;
    const stage = enrich(
      "stuck",
      (_j, signal) =>
        new Promise((resolve) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve({});
          });
        }),
      { timeoutMs: 80 },
    );
    const [out] = await run(stage, [decodedJob(commentEvent("5", "x"))]);
    assert.equal(outcome(out!), "fail:stuck:REALER_ERR_ENRICH_TIMEOUT:retry");
    assert.ok(aborted);
  });

  it("fails a job with the disposition of what the lookup threw", async () => {
    const stage = enrich("strict", async () => {
      throw new EventInvalid("author is banned");
    });
    const [out] = await run(stage, [decodedJob(commentEvent("5", "x"))]);
    assert.equal(outcome(out!), "fail:strict:REALER_ERR_EVENT_INVALID:drop");
  });

  it("runs lookups of different jobs at the same time", async () => {
    let active = 0;
    let peak = 0;
    const stage = enrich("parallel", async () => {
      peak = Math.max(peak, ++active);
      await sleep(30);
      active--;
      return {};
    });
    await run(
      stage,
      Array.from({ length: 5 }, (_, i) => decodedJob(commentEvent(String(i), "x"))),
    );
    assert.equal(peak, 5);
  });
});

describe("batch stage", () => {
  it("sends full batches as soon as they fill, and the rest when the wait ends", async () => {
    const sizes: number[] = [];
    const stage = batch(
      "lookup-many",
      async (jobs) => {
        sizes.push(jobs.length);
        return jobs.map((j) => ({ ...j, context: { batchOf: jobs.length } }));
      },
      { maxSize: 2, maxWaitMs: 20 },
    );
    const out = await run(
      stage,
      Array.from({ length: 5 }, (_, i) => decodedJob(commentEvent(String(i), "x"))),
    );
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(out.map((j) => j.context?.batchOf).sort(), [1, 2, 2, 2, 2]);
  });

  it("fails every job of a batch whose call fails, and only those", async () => {
    let call = 0;
    const stage = batch(
      "flaky",
      async (jobs) => {
        if (call++ === 0) throw new Error("database down");
        return jobs;
      },
      { maxSize: 2, maxWaitMs: 10 },
    );
    const out = await run(
      stage,
      Array.from({ length: 4 }, (_, i) => decodedJob(commentEvent(String(i), "x"))),
    );
    assert.deepEqual(out.map(outcome).sort(), [
      "fail:flaky:database down:retry",
      "fail:flaky:database down:retry",
      "ok",
      "ok",
    ]);
  });

  it("times out a batch call with REALER_ERR_ENRICH_TIMEOUT", async () => {
    const stage = batch("hangs", () => new Promise(() => {}), { maxSize: 1, timeoutMs: 50 });
    const [out] = await run(stage, [decodedJob(commentEvent("1", "x"))]);
    assert.equal(outcome(out!), "fail:hangs:REALER_ERR_ENRICH_TIMEOUT:retry");
  });
});

describe("defineStage (user-written operators)", () => {
  it("runs an async operator per job and keeps its result", async () => {
    const stage = defineStage("tag", [], (src) =>
      src.pipe(
        delay(5),
        map((j) => ({ ...j, context: { tagged: true } })),
      ),
    );
    const out = await run(stage, [decodedJob(commentEvent("1", "x")), decodedJob(commentEvent("2", "x"))]);
    assert.deepEqual(
      out.map((j) => j.context?.tagged),
      [true, true],
    );
  });

  it("fails a job its operator swallowed with REALER_ERR_STAGE_LOST_JOB, and one it errored with the error", async () => {
    const lose = defineStage("lose", [], () => EMPTY);
    const err = defineStage("err", [], () => throwError(() => new Error("nope")));
    const [lost] = await run(lose, [decodedJob(commentEvent("1", "x"))]);
    const [failed] = await run(err, [decodedJob(commentEvent("1", "x"))]);
    assert.equal(outcome(lost!), "fail:lose:REALER_ERR_STAGE_LOST_JOB:drop");
    assert.equal(outcome(failed!), "fail:err:nope:retry");
  });

  it("keeps one job when an operator emits several", async () => {
    const twice = defineStage("twice", [], (src) => src.pipe(mergeMap((j) => of(j, j))));
    const out = await run(twice, [decodedJob(commentEvent("1", "x"))]);
    assert.equal(out.length, 1);
  });
});
