/**
 * The channel feed against a scripted stream: what it hands over, in what
 * order, when a channel starts, when live messages go missing (a gap, a
 * disconnect), and when a missing message shows up only after later ones.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LiveLoss, LiveSubjectSource, StoredMessage } from "../../src/broker/types.js";
import { ChannelFeed } from "../../src/edge/channel-feed.js";
import { waitFor } from "../helpers/wait.js";

/** A stream in memory whose live delivery the test controls: it can drop messages and go offline. */
class ScriptedStream implements LiveSubjectSource {
  readonly msgs: StoredMessage[] = [];
  readonly #lastOf = new Map<string, number>();
  readonly #subs = new Map<string, Set<(m: StoredMessage, prev: number) => void>>();
  readonly #loss = new Set<(why: LiveLoss) => void>();
  online = true;
  /** Sequences not delivered live. */
  readonly drop = new Set<number>();
  lastSeqCalls = 0;
  reads: { from: number; to: number; subject?: string }[] = [];

  store(subject: string): StoredMessage {
    const seq = this.msgs.length + 1;
    const m: StoredMessage = { subject, seq, data: new Uint8Array(), headers: {}, time: Date.now() };
    this.msgs.push(m);
    const prev = this.#lastOf.get(subject) ?? 0;
    this.#lastOf.set(subject, seq);
    if (this.online && !this.drop.has(seq)) for (const fn of this.#subs.get(subject) ?? []) fn(m, prev);
    return m;
  }

  subscribe(subject: string, onMessage: (m: StoredMessage, prev: number) => void): () => void {
    const set = this.#subs.get(subject) ?? new Set();
    this.#subs.set(subject, set);
    set.add(onMessage);
    return () => set.delete(onMessage);
  }

  get subscriptions(): number {
    let n = 0;
    for (const s of this.#subs.values()) n += s.size;
    return n;
  }

  async flush(): Promise<void> {
    await new Promise((r) => setImmediate(r));
  }

  onLoss(fn: (why: LiveLoss) => void): () => void {
    this.#loss.add(fn);
    return () => this.#loss.delete(fn);
  }

  emit(why: LiveLoss): void {
    for (const fn of this.#loss) fn(why);
  }

  async *read(fromSeq: number, toSeq: number, subject?: string): AsyncIterable<StoredMessage> {
    this.reads.push({ from: fromSeq, to: toSeq, ...(subject ? { subject } : {}) });
    for (const m of this.msgs) {
      if (m.seq >= fromSeq && m.seq <= toSeq && (subject === undefined || m.subject === subject)) yield m;
    }
  }

  async lastSeq(): Promise<number> {
    this.lastSeqCalls++;
    return this.msgs.length;
  }
}

function feedOn(src: ScriptedStream, opts: { syncMs?: number; maxHeld?: number; cap?: number } = {}) {
  const got: { seq: number; subject: string; late: boolean }[] = [];
  const repaired: string[] = [];
  const gone: [string, number, number][] = [];
  const errors: unknown[] = [];
  const feed = new ChannelFeed({
    source: src,
    position: src.msgs.length,
    onMessage: (m, late) => got.push({ seq: m.seq, subject: m.subject, late }),
    onGone: (s, after, next) => gone.push([s, after, next]),
    onError: (err) => errors.push(err),
    maxMsgsPerSubject: opts.cap,
    onRepair: (r) => repaired.push(r),
    syncMs: opts.syncMs ?? 60_000,
    ...(opts.maxHeld !== undefined ? { maxHeld: opts.maxHeld } : {}),
  });
  return { feed, got, repaired, gone, errors, seqs: () => got.map((g) => g.seq) };
}

describe("ChannelFeed", () => {
  it("starts a channel after the stream's last sequence and hands over what comes next, in order", async () => {
    const src = new ScriptedStream();
    src.store("a");
    src.store("b");
    const { feed, got, seqs } = feedOn(src);
    const [sa, sb] = await Promise.all([feed.watch("a"), feed.watch("b")]);
    assert.equal(sa, 2);
    assert.equal(sb, 2);
    assert.equal(src.lastSeqCalls, 1, "one round for both");
    src.store("a");
    src.store("c"); // nobody watches c
    src.store("b");
    assert.deepEqual(seqs(), [3, 5]);
    assert.ok(got.every((g) => !g.late));
    assert.equal(feed.position, 5);
    feed.stop();
  });

  it("holds live messages while a new channel starts, so none passes a message of it that came first", async () => {
    const src = new ScriptedStream();
    const { feed, seqs } = feedOn(src);
    await feed.watch("a");
    const starting = feed.watch("b");
    // Stored while b's round trip runs: a's must wait for b's start to be known.
    src.store("b");
    src.store("a");
    assert.deepEqual(seqs(), [], "held");
    const since = await starting;
    src.store("b");
    src.store("a");
    // b@1 is at or below b's start: history, not handed over; a@2 is.
    assert.equal(since, 2);
    assert.deepEqual(seqs(), [2, 3, 4]);
    feed.stop();
  });

  it("reads a channel's missing messages before the live one that shows them missing", async () => {
    const src = new ScriptedStream();
    const { feed, got, seqs, repaired } = feedOn(src);
    await feed.watch("a");
    src.drop.add(2);
    src.store("a");
    src.store("a"); // lost live
    src.store("a"); // its prev (2) was never seen
    await waitFor(() => got.length === 3, { what: "the repair" });
    assert.deepEqual(seqs(), [1, 2, 3]);
    assert.ok(got.every((g) => !g.late));
    assert.deepEqual(repaired, ["gap"]);
    assert.deepEqual(src.reads.at(-1), { from: 2, to: 3, subject: "a" });
    feed.stop();
  });

  it("declares gone a missing message the stream deleted before the repair read, and moves on", async () => {
    const src = new ScriptedStream();
    const { feed, got, seqs, gone } = feedOn(src);
    await Promise.all([feed.watch("a"), feed.watch("b")]);
    src.drop.add(1);
    src.store("a"); // lost live
    src.msgs[0] = { ...src.msgs[0]!, subject: "deleted" }; // gone from the stream before anyone reads it
    src.store("a"); // shows a@1 missing
    await waitFor(() => got.length === 1, { what: "the live message after the gone one" });
    assert.deepEqual(gone, [["a", 0, 2]]);
    src.store("b");
    src.store("a");
    assert.deepEqual(seqs(), [2, 3, 4], "nothing held back any more");
    assert.equal(feed.repairing, false);
    feed.stop();
  });

  it("says gone what the per-subject cap may have pushed out while it was not listening", async () => {
    const src = new ScriptedStream();
    const { feed, seqs, gone } = feedOn(src, { cap: 1 });
    await feed.watch("a");
    src.store("a");
    src.online = false;
    src.store("b");
    src.store("a");
    src.msgs[2] = { ...src.msgs[2]!, subject: "pushed-out" };
    src.store("a");
    src.online = true;
    src.emit("reconnect");
    await waitFor(() => seqs().length === 2, { what: "the recovery" });
    assert.deepEqual(seqs(), [1, 4]);
    assert.deepEqual(gone, [["a", 1, 4]]);
    feed.stop();
  });

  it("retries a failing round with a growing delay, not in a busy loop", async () => {
    const src = new ScriptedStream();
    const { feed, errors } = feedOn(src);
    const fail = src.lastSeq.bind(src);
    let failing = true;
    src.lastSeq = async () => {
      if (failing) {
        src.lastSeqCalls++;
        throw new Error("stream unavailable");
      }
      return fail();
    };
    const watching = feed.watch("a");
    const started = Date.now();
    await waitFor(() => errors.length >= 4, { what: "four failed rounds" });
    // 100 + 200 + 400 ms of backoff at least between the first and the fourth.
    assert.ok(Date.now() - started >= 700, `backed off (${Date.now() - started} ms)`);
    failing = false;
    assert.equal(await watching, 0);
    feed.stop();
  });

  it("hands over a message found missing after a later one as late", async () => {
    const src = new ScriptedStream();
    const { feed, got } = feedOn(src);
    await Promise.all([feed.watch("a"), feed.watch("b")]);
    src.drop.add(1);
    src.store("a"); // lost live
    src.store("b"); // handed over: nothing says a@1 is missing yet
    src.store("a"); // shows a@1 missing
    await waitFor(() => got.length === 3, { what: "the repair" });
    assert.deepEqual(got, [
      { seq: 2, subject: "b", late: false },
      { seq: 1, subject: "a", late: true },
      { seq: 3, subject: "a", late: false },
    ]);
    feed.stop();
  });

  it("holds from a disconnect and, after the reconnect, reads what was missed before going on", async () => {
    const src = new ScriptedStream();
    const { feed, got, seqs, repaired } = feedOn(src);
    await Promise.all([feed.watch("a"), feed.watch("b")]);
    src.store("a");
    src.emit("disconnect");
    src.online = false;
    src.store("b");
    src.store("c");
    src.store("a");
    src.online = true;
    src.store("b"); // live, but must wait for the three before it
    assert.deepEqual(seqs(), [1]);
    src.emit("reconnect");
    await waitFor(() => got.length === 4, { what: "the recovery" });
    assert.deepEqual(seqs(), [1, 2, 4, 5]);
    assert.ok(got.every((g) => !g.late));
    assert.deepEqual(repaired, ["loss", "loss"]);
    assert.equal(feed.position, 5);
    feed.stop();
  });

  it("reads a gap below its position in the same round as a recovery", async () => {
    const src = new ScriptedStream();
    const { feed, got } = feedOn(src);
    await Promise.all([feed.watch("a"), feed.watch("b")]);
    const rounds = src.lastSeqCalls;
    src.drop.add(1);
    src.store("a"); // lost live
    src.store("b"); // handed over: the position passes a@1
    src.store("a"); // shows a@1 missing
    src.emit("reconnect"); // before the repair's round runs
    await waitFor(() => got.length === 3, { what: "the repair" });
    assert.deepEqual(
      got.map((g) => [g.seq, g.late]),
      [
        [2, false],
        [1, true],
        [3, false],
      ],
    );
    assert.equal(src.lastSeqCalls - rounds, 1, "one round");
    feed.stop();
  });

  it("recovers after a new leader too, and drops what it already has", async () => {
    const src = new ScriptedStream();
    const { feed, seqs } = feedOn(src);
    await feed.watch("a");
    src.store("a");
    src.drop.add(2);
    src.store("a");
    src.emit("leader");
    await waitFor(() => seqs().length === 2, { what: "the recovery" });
    src.store("a");
    assert.deepEqual(seqs(), [1, 2, 3]);
    feed.stop();
  });

  it("unsubscribes a channel it no longer watches, and can watch it again", async () => {
    const src = new ScriptedStream();
    const { feed, seqs } = feedOn(src);
    await feed.watch("a");
    assert.equal(src.subscriptions, 1);
    feed.unwatch("a");
    assert.equal(src.subscriptions, 0);
    assert.equal(feed.subscriptions, 0);
    src.store("a");
    assert.deepEqual(seqs(), []);
    assert.equal(await feed.watch("a"), 1, "starts again after what it missed");
    src.store("a");
    assert.deepEqual(seqs(), [2]);
    feed.stop();
  });

  it("holds a bounded number of live messages and reads the rest back from the stream", async () => {
    const src = new ScriptedStream();
    const { feed, got, seqs } = feedOn(src, { maxHeld: 2 });
    await feed.watch("a");
    const starting = feed.watch("b"); // holds a's messages until b has started
    for (let i = 0; i < 5; i++) src.store("a");
    await starting;
    await waitFor(() => got.length === 5, { what: "every message of a" });
    assert.deepEqual(seqs(), [1, 2, 3, 4, 5]);
    assert.ok(got.every((g) => !g.late));
    feed.stop();
  });

  it("brings its position up to the stream's end after a quiet period", async () => {
    const src = new ScriptedStream();
    const { feed, seqs } = feedOn(src, { syncMs: 20 });
    await feed.watch("a");
    for (let i = 0; i < 5; i++) src.store("other");
    await waitFor(() => feed.position === 5, { what: "the position" });
    assert.deepEqual(seqs(), [], "nothing of other channels handed over");
    feed.stop();
  });
});
