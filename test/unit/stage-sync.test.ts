/**
 * Marble tests for the synchronous stages: each maps every job to exactly one
 * job, in order, at the same frame; a bad job fails or is skipped alone and
 * the stream goes on; failed jobs pass by untouched.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { map } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { createEvent, encodeEvent } from "../../src/events/envelope.js";
import { compileStages } from "../../src/pipeline/compile.js";
import { decode } from "../../src/pipeline/decode.js";
import { dedupe } from "../../src/pipeline/dedupe.js";
import { filter } from "../../src/pipeline/filter.js";
import { format } from "../../src/pipeline/format.js";
import { fail, type Job } from "../../src/pipeline/job.js";
import { maxDeliveriesGuard } from "../../src/pipeline/max-deliveries.js";
import { Renderer } from "../../src/pipeline/render.js";
import { route } from "../../src/pipeline/route.js";
import { type AnyStage, syncStage } from "../../src/pipeline/stage.js";
import { validate } from "../../src/pipeline/validate.js";
import { commentEvent, decodedJob, domain, fakeDelivery, outcome } from "./stage-fixtures.js";

const scheduler = () => new TestScheduler((actual, expected) => assert.deepStrictEqual(actual, expected));

/** Runs `stage` over `jobs` on the marble `input` and expects `output` with values summarized by `view`. */
function marble(
  stage: AnyStage,
  input: string,
  jobs: Record<string, Job>,
  output: string,
  values: Record<string, unknown>,
  view: (j: Job) => unknown = outcome,
) {
  scheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold(input, jobs).pipe(compileStages([stage], stage.needs), map(view))).toBe(
      output,
      values,
    );
  });
}

const { registry, handlers } = domain();

describe("decode stage", () => {
  it("decodes good events and drops malformed bytes and unknown types, in order", () => {
    const good = commentEvent("7", "hi");
    const unknown = encodeEvent(createEvent({ type: "nope.v1.Thing", key: "k", payload: new Uint8Array() }));
    marble(
      decode(registry),
      "-a-b-c-|",
      {
        a: { delivery: fakeDelivery(encodeEvent(good)) },
        b: { delivery: fakeDelivery(new Uint8Array([0xff, 0xff, 0xff])) },
        c: { delivery: fakeDelivery(unknown) },
      },
      "-x-y-z-|",
      {
        x: "ok",
        y: "fail:decode:REALER_ERR_EVENT_DECODE:drop",
        z: "fail:decode:REALER_ERR_EVENT_UNKNOWN_TYPE:drop",
      },
    );
  });

  it("gives the decoded body to the next stage", () => {
    const e = commentEvent("7", "hello");
    marble(
      decode(registry),
      "a|",
      { a: { delivery: fakeDelivery(encodeEvent(e)) } },
      "x|",
      { x: "hello" },
      (j) => (j.body!.comment as { text: string }).text,
    );
  });
});

describe("validate stage", () => {
  it("drops an event without a key or breaking its handler's rule, and passes the rest", () => {
    const strict = new Map(handlers);
    const h = strict.get("comments.v1.CommentCreated")!;
    strict.set("comments.v1.CommentCreated", {
      ...h,
      validate: (b) => ((b.comment as { text: string }).text.length > 5 ? "text longer than 5" : undefined),
    });
    marble(
      validate(strict),
      "a-b-c|",
      {
        a: decodedJob(commentEvent("1", "short")),
        b: decodedJob(commentEvent("1", "far too long")),
        c: decodedJob(commentEvent("1", "ok", { key: "" })),
      },
      "x-y-z|",
      {
        x: "ok",
        y: "fail:validate:REALER_ERR_EVENT_INVALID:drop",
        z: "fail:validate:REALER_ERR_EVENT_INVALID:drop",
      },
    );
  });
});

describe("filter stage", () => {
  it("skips the jobs its predicate refuses, without failing them", () => {
    const noSpam = filter(
      "no-spam",
      (j) => !(j.body!.comment as { text: string }).text.includes("spam"),
      "spam",
    );
    marble(
      noSpam,
      "a-b-|",
      { a: decodedJob(commentEvent("1", "buy spam")), b: decodedJob(commentEvent("1", "nice")) },
      "x-y-|",
      { x: "skip:no-spam", y: "ok" },
    );
  });
});

describe("route stage", () => {
  it("fills channel templates from the body and drops an event whose route field is empty", () => {
    marble(
      route(new Renderer(handlers)),
      "a-b|",
      { a: decodedJob(commentEvent("42", "x")), b: decodedJob(commentEvent("", "x")) },
      "x-y|",
      { x: ["thread:42"], y: "fail:route:REALER_ERR_EVENT_INVALID:drop" },
      (j) => j.channels ?? outcome(j),
    );
  });
});

describe("format stage", () => {
  it("renders escaped html once and serializes it for every channel", () => {
    const job = { ...decodedJob(commentEvent("42", "<b>hi</b> & bye")), channels: ["thread:42", "user:ann"] };
    marble(
      format(new Renderer(handlers)),
      "a|",
      { a: job },
      "x|",
      {
        x: [
          ["thread:42", "comment.created", "&lt;b&gt;hi&lt;/b&gt; &amp; bye"],
          ["user:ann", "comment.created", "&lt;b&gt;hi&lt;/b&gt; &amp; bye"],
        ],
      },
      (j) => j.outputs!.map((o) => [o.channel, o.type, (JSON.parse(o.data) as { html: string }).html]),
    );
  });
});

describe("dedupe stage", () => {
  it("skips an event id seen at another sequence but lets a redelivery of the same message pass", () => {
    const e = commentEvent("1", "once");
    marble(
      dedupe(),
      "a-b-c-|",
      { a: decodedJob(e, 10), b: decodedJob(e, 10, 2), c: decodedJob(e, 99) },
      "x-y-z-|",
      { x: "ok", y: "ok", z: "skip:dedupe" },
    );
  });

  it("forgets the oldest ids past its capacity", () => {
    const [e1, e2, e3] = [commentEvent("1", "a"), commentEvent("1", "b"), commentEvent("1", "c")];
    marble(
      dedupe({ capacity: 2 }),
      "abcd|",
      { a: decodedJob(e1!, 1), b: decodedJob(e2!, 2), c: decodedJob(e3!, 3), d: decodedJob(e1!, 4) },
      "wxyz|",
      { w: "ok", x: "ok", y: "ok", z: "ok" },
    );
  });
});

describe("max-deliveries guard (the attempts stage)", () => {
  it("fails a delivery past maxDeliver with REALER_ERR_MAX_DELIVERIES and passes the others", () => {
    marble(
      maxDeliveriesGuard(3),
      "a-b|",
      { a: decodedJob(commentEvent("1", "x"), 1, 3), b: decodedJob(commentEvent("1", "x"), 2, 4) },
      "x-y|",
      { x: "ok", y: "fail:attempts:REALER_ERR_MAX_DELIVERIES:drop" },
    );
  });
});

describe("syncStage", () => {
  it("fails only the job whose function throws; the stream goes on", () => {
    const boom = syncStage("boom", [], (j) => {
      if ((j.body!.comment as { text: string }).text === "bad") throw new Error("kaboom");
      return j;
    });
    marble(
      boom,
      "a-b-c-|",
      {
        a: decodedJob(commentEvent("1", "good")),
        b: decodedJob(commentEvent("1", "bad")),
        c: decodedJob(commentEvent("1", "good")),
      },
      "x-y-z-|",
      { x: "ok", y: "fail:boom:kaboom:retry", z: "ok" },
    );
  });

  it("passes failed and skipped jobs by untouched", () => {
    let calls = 0;
    const counting = syncStage("counting", [], (j) => {
      calls++;
      return j;
    });
    const failed = fail(decodedJob(commentEvent("1", "x")), "earlier", new Error("no"));
    const skipped = { ...decodedJob(commentEvent("1", "x")), skipped: { stage: "f", reason: "r" } };
    marble(counting, "ab|", { a: failed, b: skipped }, "xy|", { x: "fail:earlier:no:retry", y: "skip:f" });
    assert.equal(calls, 0);
  });
});
