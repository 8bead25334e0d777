/**
 * The browser client (src/web/client.js) against a scripted EventSource:
 * channels, handlers, resume, backoff with full jitter, control events and
 * the dark launch. The real thing runs in Chromium in test/e2e/demo-*.test.ts.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { backoffDelay, type SubscribeOptions, streamUrl, subscribe } from "../../src/web/client.js";

class FakeEventSource extends EventTarget {
  static all: FakeEventSource[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  constructor(readonly url: string) {
    super();
    FakeEventSource.all.push(this);
  }
  get params(): URLSearchParams {
    return new URL(this.url).searchParams;
  }
  close(): void {
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  send(type: string, data: unknown, id = ""): void {
    this.dispatchEvent(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: id }));
  }
  message(type: string, id: string, data: unknown, channel = "thread:1"): void {
    this.send(type, { channel, event_id: `ev-${id}`, data }, id);
  }
  /** A network failure: the browser retries by itself (CONNECTING), or gives up (CLOSED). */
  fail(giveUp: boolean): void {
    this.readyState = giveUp ? 2 : 0;
    this.dispatchEvent(new Event("error"));
  }
}

const last = () => FakeEventSource.all.at(-1)!;
/** Lets the client's async connect run (it awaits the token). */
const settle = () => new Promise<void>((r) => setImmediate(r));

function start(o: Partial<SubscribeOptions> = {}) {
  const sub = subscribe({
    channels: ["thread:1", "user:ann"],
    base: "http://edge.test",
    EventSource: FakeEventSource,
    random: () => 0.5,
    backoff: { baseMs: 1000, maxMs: 8000 },
    ...o,
  });
  return sub;
}

describe("the browser client", () => {
  beforeEach(() => {
    FakeEventSource.all = [];
    mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  });
  afterEach(() => mock.timers.reset());

  it("carries several channels on one EventSource", async () => {
    start({ lastEventId: "0" });
    await settle();
    assert.equal(FakeEventSource.all.length, 1);
    assert.deepEqual(last().params.getAll("channel"), ["thread:1", "user:ann"]);
    assert.equal(last().params.get("last_event_id"), "0");
    assert.equal(new URL(last().url).pathname, "/v1/sse");
  });

  it("calls the handlers of each event type with the data and the message's id and channel", async () => {
    const got: unknown[] = [];
    const sub = start({
      on: { "comment.created": (d, m) => got.push(["created", d, m.id, m.channel, m.eventId]) },
    });
    sub.on("comment.deleted", (d, m) => got.push(["deleted", d, m.id]));
    await settle();
    last().open();
    last().message("comment.created", "e-1", { id: "c1" });
    last().message("comment.other", "e-2", { id: "zz" });
    last().message("comment.deleted", "e-3", { id: "c1" }, "user:ann");
    assert.deepEqual(got, [
      ["created", { id: "c1" }, "e-1", "thread:1", "ev-e-1"],
      ["deleted", { id: "c1" }, "e-3"],
    ]);
    assert.equal(sub.lastEventId, "e-3");
    assert.equal(sub.state, "live");
  });

  it("resumes from the last id after the edge closes with event: error, after a jittered backoff", async () => {
    const errors: unknown[] = [];
    const sub = start({ on: { m: () => {} }, onError: (e) => errors.push(e) });
    await settle();
    const first = last();
    first.open();
    first.message("m", "7-41", {});
    first.send("error", { code: "REALER_ERR_SLOW", reason: "slow", message: "too slow", cursor: "7-41" });
    assert.deepEqual(errors, [
      { code: "REALER_ERR_SLOW", reason: "slow", message: "too slow", cursor: "7-41" },
    ]);
    assert.equal(first.readyState, 2, "the client closed the stream itself");
    assert.equal(sub.state, "reconnecting");
    // random() = 0.5 of a 1000 ms cap: 500 ms.
    mock.timers.tick(499);
    await settle();
    assert.equal(FakeEventSource.all.length, 1, "not before the backoff delay");
    mock.timers.tick(1);
    await settle();
    assert.equal(FakeEventSource.all.length, 2);
    assert.equal(last().params.get("last_event_id"), "7-41", "the id is passed back as it came, opaque");
  });

  it("doubles the backoff cap while the edge stays away, and starts over once a stream opens", async () => {
    start({ random: () => 0.9999, backoff: { baseMs: 100, maxMs: 1000 } });
    await settle();
    const delays: number[] = [];
    const measure = async () => {
      const n = FakeEventSource.all.length;
      last().fail(true);
      let waited = 0;
      while (FakeEventSource.all.length === n) {
        mock.timers.tick(1);
        waited++;
        await settle();
        assert.ok(waited < 5000, "a reconnect was scheduled");
      }
      delays.push(waited);
    };
    for (let i = 0; i < 5; i++) await measure();
    assert.deepEqual(delays, [99, 199, 399, 799, 999], "min(max, base * 2^n) scaled by the random draw");
    last().open();
    await measure();
    assert.equal(delays.at(-1), 99, "attempts count from zero again after an open");
  });

  it("draws the delay uniformly from zero to the cap (full jitter)", () => {
    const o = { baseMs: 1000, maxMs: 30_000 };
    assert.equal(
      backoffDelay(3, o, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(3, o, () => 0.5),
      4000,
    );
    assert.equal(
      backoffDelay(10, o, () => 0.5),
      15_000,
      "capped at maxMs",
    );
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(2, o);
      assert.ok(d >= 0 && d < 4000);
    }
  });

  it("leaves a dropped connection to the browser's own reconnect", async () => {
    const sub = start();
    await settle();
    last().open();
    last().fail(false);
    assert.equal(sub.state, "reconnecting");
    mock.timers.tick(60_000);
    await settle();
    assert.equal(FakeEventSource.all.length, 1, "no second EventSource");
    last().open();
    assert.equal(sub.state, "live");
  });

  it("reports a reset and keeps the stream", async () => {
    const resets: unknown[] = [];
    start({ onReset: (r) => resets.push(r) });
    await settle();
    last().open();
    last().send("reset", { channels: ["thread:1"], from: "7-100", reason: "history-gone" });
    assert.deepEqual(resets, [{ channels: ["thread:1"], from: "7-100", reason: "history-gone" }]);
    assert.equal(last().readyState, 1);
  });

  it("fetches a fresh token on auth-expiring and resumes at once", async () => {
    let n = 0;
    const notices: unknown[] = [];
    start({ token: async () => `tok-${++n}`, on: { m: () => {} }, onAuthExpiring: (i) => notices.push(i) });
    await settle();
    assert.equal(last().params.get("token"), "tok-1");
    last().open();
    last().message("m", "3-9", {});
    last().send("auth-expiring", { expires_at: "2030-01-01T00:00:00.000Z", channels: ["thread:1"] });
    await settle();
    assert.equal(notices.length, 1);
    assert.equal(FakeEventSource.all.length, 2);
    assert.equal(FakeEventSource.all[0]!.readyState, 2, "the old stream is closed");
    assert.equal(last().params.get("token"), "tok-2");
    assert.equal(last().params.get("last_event_id"), "3-9");
  });

  it("resumes from the id of a drain frame", async () => {
    const sub = start();
    await settle();
    last().open();
    last().send("drain", { cursor: "5-77", retry_ms: 100 }, "5-77");
    assert.equal(sub.lastEventId, "5-77");
    last().send("error", { code: "X", message: "gone" });
    mock.timers.tick(1000);
    await settle();
    assert.equal(last().params.get("last_event_id"), "5-77");
  });

  it("in a dark launch subscribes only the sampled share of page views", async () => {
    const off = start({ dark: 0.1, random: () => 0.5, on: { m: () => assert.fail("rendered") } });
    await settle();
    assert.equal(off.active, false);
    assert.equal(off.state, "off");
    assert.equal(FakeEventSource.all.length, 0, "a page view outside the share opens no connection");
  });

  it("in a dark launch calls no handler and reports what arrived", async () => {
    const reports: { received: number; byType: Record<string, number>; dark: boolean }[] = [];
    const sub = start({
      dark: 0.1,
      random: () => 0.05,
      on: { a: () => assert.fail("rendered"), b: () => assert.fail("rendered") },
      onReport: (r) => reports.push(r),
      reportEveryMs: 10_000,
    });
    await settle();
    assert.equal(sub.active, true);
    last().open();
    last().message("a", "1", { x: 1 });
    last().message("a", "2", { x: 2 });
    last().message("b", "3", { x: 3 });
    mock.timers.tick(10_000);
    assert.equal(reports.length, 1, "a report every reportEveryMs");
    assert.equal(reports[0]!.received, 3);
    assert.deepEqual(reports[0]!.byType, { a: 2, b: 1 });
    assert.equal(reports[0]!.dark, true);
    sub.close();
    assert.equal(reports.length, 2, "and a last one on close");
    assert.equal(last().readyState, 2);
  });

  it("builds stream URLs with every channel, the cursor and the token", () => {
    const u = new URL(streamUrl("/v1/sse", ["a", "b:c"], "9-1", "t", "https://x.test/page"));
    assert.equal(u.origin + u.pathname, "https://x.test/v1/sse");
    assert.deepEqual(u.searchParams.getAll("channel"), ["a", "b:c"]);
    assert.equal(u.searchParams.get("last_event_id"), "9-1");
    assert.equal(u.searchParams.get("token"), "t");
  });

  it("refuses to subscribe without channels, or without EventSource", () => {
    assert.throws(() => subscribe({ channels: [], EventSource: FakeEventSource }), TypeError);
    assert.throws(() => subscribe({ channels: ["a"], EventSource: undefined }), /no EventSource/);
  });
});
