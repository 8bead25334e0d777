/** Ordinary async tests for settle: the only place that acks, naks and terms, and that writes dead letters. */
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { firstValueFrom, from, Subject, toArray } from "rxjs";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import type { Broker, StoredMessage } from "../../src/broker/types.js";
import { EventInvalid, PublishFailed, StageFatal } from "../../src/errors.js";
import { createLogger } from "../../src/log/logger.js";
import { fail, type Job, skip } from "../../src/pipeline/job.js";
import { retryDelay, type Settled, type SettleOptions, settle } from "../../src/pipeline/settle.js";
import { TurnWrites } from "../../src/pipeline/turn-writes.js";
import { commentEvent, decodedJob, type FakeDelivery } from "./stage-fixtures.js";

const log = createLogger({ level: "silent" });
const calls = (j: Job) => (j.delivery as FakeDelivery).calls;

describe("settle", () => {
  let broker: MemoryBroker;
  beforeEach(async () => {
    broker = new MemoryBroker();
    await broker.ensureStream({ name: "DLQ", subjects: ["dlq.>"] });
  });

  const options = (over: Partial<SettleOptions> = {}): SettleOptions => ({
    broker,
    deadLetterPrefix: "dlq",
    maxDeliver: 3,
    retryDelayMs: 100,
    maxRetryDelayMs: 350,
    log,
    writes: new TurnWrites(),
    ...over,
  });

  const run = (jobs: Job[], b: Broker = broker): Promise<Settled[]> =>
    firstValueFrom(from(jobs).pipe(settle(options({ broker: b })), toArray()));

  async function deadLetters(): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    for await (const m of broker.read("DLQ", { fromSeq: 1 })) out.push(m);
    return out;
  }

  it("acks a job that went through every stage, and a skipped one", async () => {
    const ok = decodedJob(commentEvent("1", "x"));
    const skipped = skip(decodedJob(commentEvent("1", "x")), "no-spam", "spam");
    const out = await run([ok, skipped]);
    assert.deepEqual(
      out.map((s) => s.outcome),
      ["acked", "acked"],
    );
    assert.deepEqual(calls(ok), ["ack"]);
    assert.deepEqual(calls(skipped), ["ack"]);
    assert.equal((await deadLetters()).length, 0);
  });

  it("holds acks up to ackDelayMs to send them together, and sends a full batch at the end of its turn", async () => {
    const input = new Subject<Job>();
    const settled: Settled[] = [];
    const sub = input
      .pipe(settle(options({ ackDelayMs: 40, ackBatch: 3 })))
      .subscribe((s) => settled.push(s));
    try {
      const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((seq) => decodedJob(commentEvent("1", "x"), seq));
      const t0 = Date.now();
      input.next(a!);
      input.next(b!);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(calls(a!), [], "not acked at the end of the turn");
      await new Promise((r) => setTimeout(r, 60));
      assert.deepEqual([calls(a!), calls(b!)], [["ack"], ["ack"]], "acked together once the delay passed");
      assert.ok(settled[0]!.job === a && Date.now() - t0 >= 40);
      input.next(c!);
      input.next(d!);
      input.next(e!);
      assert.deepEqual(calls(c!), [], "a full batch waits for the end of the turn");
      await new Promise((r) => setImmediate(r));
      assert.deepEqual([calls(c!), calls(d!), calls(e!)], [["ack"], ["ack"], ["ack"]]);
      assert.deepEqual(
        settled.map((s) => [s.job.delivery.seq, s.outcome]),
        [1, 2, 3, 4, 5].map((seq) => [seq, "acked"]),
      );
    } finally {
      sub.unsubscribe();
    }
  });

  it("sends held-back acks right after the pipeline's next publishes start, not only when the delay ends", async () => {
    const writes = new TurnWrites();
    const input = new Subject<Job>();
    const sub = input.pipe(settle(options({ ackDelayMs: 60_000, ackBatch: 100, writes }))).subscribe();
    try {
      const job = decodedJob(commentEvent("1", "x"));
      input.next(job);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(calls(job), [], "held back");
      const order: string[] = [];
      const publishing = writes.startAtTurnEnd(async () => {
        order.push(`publish started, acks so far: ${calls(job).length}`);
      });
      await publishing;
      assert.deepEqual(order, ["publish started, acks so far: 0"]);
      assert.deepEqual(calls(job), ["ack"], "acked in the same run as the publish started");
    } finally {
      sub.unsubscribe();
    }
  });

  it("naks a passing failure with a doubling delay, capped", async () => {
    const jobs = [1, 2, 3].map((n) =>
      fail(decodedJob(commentEvent("1", "x"), n, Math.min(n, 2)), "publish", new PublishFailed("down")),
    );
    const out = await run(jobs);
    assert.deepEqual(
      out.map((s) => s.outcome),
      ["retried", "retried", "retried"],
    );
    assert.deepEqual(
      jobs.map((j) => calls(j)[0]),
      ["nak:100", "nak:200", "nak:200"],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => retryDelay(a, 100, 350)),
      [100, 200, 350, 350, 350],
    );
  });

  it("dead-letters a passing failure on the last delivery with reason, stage, code and attempts, then terms it", async () => {
    const e = commentEvent("1", "x", { headers: { tenant: "acme" } });
    const job = fail(decodedJob(e, 42, 3), "enrich", new PublishFailed("still down"));
    const [s] = await run([job]);
    assert.equal(s?.outcome, "dead");
    assert.deepEqual(calls(job), ["term"]);
    const [dead] = await deadLetters();
    assert.equal(dead?.subject, "dlq.comments_v1_CommentCreated");
    assert.deepEqual(dead?.data, job.delivery.data);
    assert.equal(dead?.headers["Realer-Reason"], "publishing to the channel stream failed: still down");
    assert.equal(dead?.headers["Realer-Stage"], "enrich");
    assert.equal(dead?.headers["Realer-Code"], "REALER_ERR_PUBLISH_FAILED");
    assert.equal(dead?.headers["Realer-Attempts"], "3");
    assert.equal(dead?.headers["Realer-Source-Seq"], "42");
    assert.equal(dead?.headers["Realer-Event-Id"], e.id);
    assert.equal(dead?.headers.tenant, "acme");
  });

  it("keeps the stored message's headers in a dead letter, except the server's own Nats-* ones", async () => {
    const base = decodedJob(commentEvent("1", "x"), 8, 1);
    const job = fail(
      {
        ...base,
        delivery: { ...base.delivery, headers: { "Nats-Msg-Id": "evt-1", "Realer-Trace-Id": "abc" } },
      },
      "validate",
      new EventInvalid("no"),
    );
    await run([job]);
    const [dead] = await deadLetters();
    assert.equal(dead?.headers["Realer-Trace-Id"], "abc");
    assert.equal(dead?.headers["Nats-Msg-Id"], undefined);
  });

  it("dead-letters a dropped event on its first delivery", async () => {
    const job = fail(decodedJob(commentEvent("1", "x"), 7, 1), "validate", new EventInvalid("no"));
    const [s] = await run([job]);
    assert.equal(s?.outcome, "dead");
    assert.equal((await deadLetters()).length, 1);
  });

  it("stores one dead letter when the same delivery is dead-lettered twice", async () => {
    const a = fail(decodedJob(commentEvent("1", "x"), 7, 1), "validate", new EventInvalid("no"));
    await run([a, { ...a, delivery: { ...a.delivery } }]);
    assert.equal((await deadLetters()).length, 1);
  });

  it("naks instead of terming when the dead letter cannot be stored, so nothing is lost", async () => {
    const job = fail(decodedJob(commentEvent("1", "x"), 7, 1), "validate", new EventInvalid("no"));
    const broken = { publish: () => Promise.reject(new Error("dlq down")) } as unknown as Broker;
    const [s] = await run([job], broken);
    assert.equal(s?.outcome, "retried");
    assert.deepEqual(calls(job), ["nak:100"]);
  });

  it("naks a fatal failure and reports it as fatal", async () => {
    const job = fail(
      decodedJob(commentEvent("1", "x")),
      "enrich",
      new StageFatal("enrich", "no credentials"),
    );
    const [s] = await run([job]);
    assert.equal(s?.outcome, "fatal");
    assert.deepEqual(calls(job), ["nak:0"]);
  });
});
