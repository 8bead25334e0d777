/**
 * Consecutive synchronous stages run in one operator (compile.ts):
 * the jobs that come out, the failures and the stages each job reached must be
 * exactly those of the stages piped one by one.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { firstValueFrom, from, type OperatorFunction, toArray } from "rxjs";
import { EventInvalid } from "../../src/errors.js";
import { compileStages } from "../../src/pipeline/compile.js";
import type { Job } from "../../src/pipeline/job.js";
import { asyncStage, type Stage, syncStage } from "../../src/pipeline/stage.js";
import { commentEvent, decodedJob, outcome } from "./stage-fixtures.js";

/** A stage list whose stages record, per stage, the seqs of the jobs they ran on. */
function recordingStages(seen: Map<string, number[]>): Stage[] {
  const mark = (name: string, job: Job) => {
    seen.set(name, [...(seen.get(name) ?? []), job.delivery.seq]);
  };
  return [
    syncStage("fuse-a", [EventInvalid], (job) => {
      mark("fuse-a", job);
      if (job.delivery.seq % 3 === 0) throw new EventInvalid("a refuses multiples of 3");
      return { ...job, context: { a: true } };
    }),
    syncStage("fuse-b", [], (job) => {
      mark("fuse-b", job);
      return { ...job, context: { ...job.context, b: true } };
    }),
    asyncStage("fuse-c", [], async (job) => {
      mark("fuse-c", job);
      return { ...job, context: { ...job.context, c: true } };
    }),
    syncStage("fuse-d", [EventInvalid], (job) => {
      mark("fuse-d", job);
      if (job.delivery.seq % 4 === 0) throw new EventInvalid("d refuses multiples of 4");
      return { ...job, context: { ...job.context, d: true } };
    }),
  ];
}

async function run(op: OperatorFunction<Job, Job>): Promise<string[]> {
  const jobs = Array.from({ length: 12 }, (_, i) => decodedJob(commentEvent(`t${i}`, "hi"), i + 1));
  const out = await firstValueFrom(from(jobs).pipe(op, toArray()));
  return out
    .sort((x, y) => x.delivery.seq - y.delivery.seq)
    .map((j) => `${j.delivery.seq}:${outcome(j)}:${Object.keys(j.context ?? {}).join("")}`);
}

describe("folded synchronous stages", () => {
  it("emit the same jobs, failures and context as the stages piped one by one", async () => {
    const seenFused = new Map<string, number[]>();
    const fused = await run(compileStages(recordingStages(seenFused)));
    const seenPiped = new Map<string, number[]>();
    const [a, b, c, d] = recordingStages(seenPiped);
    const one = (s: Stage) => compileStages([s]);
    const piped = await run((s) => s.pipe(one(a!), one(b!), one(c!), one(d!)));
    assert.deepEqual(fused, piped);
    assert.equal(fused[2], "3:fail:fuse-a:REALER_ERR_EVENT_INVALID:drop:");
    assert.equal(fused[3], "4:fail:fuse-d:REALER_ERR_EVENT_INVALID:drop:abc");
    assert.equal(fused[4], "5:ok:abcd");
    const sorted = (m: Map<string, number[]>) =>
      [...m].map(([k, v]) => `${k}=${[...v].sort((x, y) => x - y).join(",")}`);
    assert.deepEqual(sorted(seenFused), sorted(seenPiped));
  });

  it("never run a later stage on a job an earlier stage in the same fused run failed", async () => {
    const seen = new Map<string, number[]>();
    await run(compileStages(recordingStages(seen)));
    assert.deepEqual(seen.get("fuse-a")?.length, 12);
    for (const n of seen.get("fuse-b") ?? []) assert.notEqual(n % 3, 0, `fuse-b ran on failed job ${n}`);
    assert.equal(seen.get("fuse-b")?.length, 8);
  });

  it("are plain data: a stage says its kind, and only synchronous ones are folded", () => {
    const [a, , c] = recordingStages(new Map());
    assert.equal(a!.kind, "sync");
    assert.equal(c!.kind, "async");
  });
});
