/** Rendering: channel templates, the Renderer's channels and format, and the demo's HTML escaping. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeHtml } from "../../src/demo/comments.js";
import { codeOf } from "../../src/errors.js";
import { createEvent, type Event } from "../../src/events/envelope.js";
import type { Handler } from "../../src/pipeline/handler.js";
import { compileTemplate, Renderer } from "../../src/pipeline/render.js";

const invalid = (message: RegExp) => (err: Error) =>
  codeOf(err) === "REALER_ERR_EVENT_INVALID" && message.test(err.message);

function event(type: string): Event {
  return createEvent({ type, key: "k", payload: new Uint8Array(), id: "e1" });
}

describe("a channel template", () => {
  it("fills fields by their proto name or camelCase, at any depth, between literal text", () => {
    const t = compileTemplate("thread:{comment.thread_id}:by:{author}");
    assert.equal(t({ comment: { threadId: "42" }, author: "ann" }), "thread:42:by:ann");
    assert.equal(t({ comment: { thread_id: 7 }, author: "bob" }), "thread:7:by:bob");
    assert.equal(compileTemplate("all")({}), "all");
    assert.equal(compileTemplate("{a}{b}")({ a: "x", b: "y" }), "xy");
  });

  it("fails with REALER_ERR_EVENT_INVALID when a field is missing, empty or null", () => {
    const t = compileTemplate("thread:{comment.thread_id}");
    for (const body of [
      {},
      { comment: {} },
      { comment: { threadId: "" } },
      { comment: null },
      { comment: "x" },
    ]) {
      assert.throws(
        () => t(body as Record<string, unknown>),
        invalid(/field comment\.thread_id is empty \(route thread:\{comment\.thread_id\}\)/),
        JSON.stringify(body),
      );
    }
  });

  it("keeps a zero, which is a value", () => {
    assert.equal(compileTemplate("n:{n}")({ n: 0 }), "n:0");
  });
});

describe("the renderer", () => {
  const calls: unknown[] = [];
  const handlers = new Map<string, Handler>([
    [
      "t.Posted",
      {
        routes: ["thread:{thread_id}", "user:{author}", "thread:{thread_id}"],
        format: (body, ev, context) => {
          calls.push({ body, id: ev.id, context });
          return { type: "posted", data: { text: body.text, who: context.who ?? null } };
        },
      },
    ],
    ["t.Single", { routes: ["only:{id}"], format: () => ({ type: "single", data: 1 }) }],
  ]);
  const r = new Renderer(handlers);

  it("routes an event to each of its channels once, in template order", () => {
    assert.deepEqual(r.channels("t.Posted", { threadId: "1", author: "ann" }), ["thread:1", "user:ann"]);
    assert.deepEqual(r.channels("t.Single", { id: "x" }), ["only:x"]);
  });

  it("refuses a channel outside the grammar and a type without a handler", () => {
    assert.throws(
      () => r.channels("t.Single", { id: "a b" }),
      invalid(/routed to an invalid channel only:a b/),
    );
    assert.throws(() => r.channels("t.None", {}), invalid(/no handler for type t\.None/));
    assert.throws(() => r.format(event("t.None"), {}, ["c"]), invalid(/no handler for type t\.None/));
  });

  it("renders once and hands every channel the same serialized data, with the context enrich found", () => {
    calls.length = 0;
    const body = { threadId: "1", author: "ann", text: "hi" };
    const { rendered, outputs } = r.format(event("t.Posted"), body, ["thread:1", "user:ann"], { who: "Ann" });
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0], { body, id: "e1", context: { who: "Ann" } });
    assert.deepEqual(rendered, { type: "posted", data: { text: "hi", who: "Ann" } });
    assert.deepEqual(outputs, [
      { channel: "thread:1", type: "posted", data: '{"text":"hi","who":"Ann"}' },
      { channel: "user:ann", type: "posted", data: '{"text":"hi","who":"Ann"}' },
    ]);
  });

  it("gives an empty context without enrich, and outputs() is route then format", () => {
    calls.length = 0;
    const body = { threadId: "2", author: "bob", text: "yo" };
    assert.deepEqual(r.outputs(event("t.Posted"), body), [
      { channel: "thread:2", type: "posted", data: '{"text":"yo","who":null}' },
      { channel: "user:bob", type: "posted", data: '{"text":"yo","who":null}' },
    ]);
    assert.deepEqual(calls, [{ body, id: "e1", context: {} }]);
  });
});

describe("the demo's HTML escaping", () => {
  it("escapes the five special characters and leaves other text as is", () => {
    assert.equal(
      escapeHtml(`<a href="x">Tom & 'Jerry'</a>`),
      "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;",
    );
    const plain = "nothing to escape: ünïcode ✓";
    assert.equal(escapeHtml(plain), plain);
  });
});
