/** The connection actor against a fake socket: coalescing, bounds, stalls, backlog pacing, drain. */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { type CloseReason, Connection, type ConnectionLimits } from "../../src/edge/connection.js";
import { messageFrame } from "../../src/edge/sse-frame.js";
import type { Entry } from "../../src/edge/types.js";
import { WriteScheduler } from "../../src/edge/write-scheduler.js";
import { parseFrames } from "../helpers/sse-client.js";

class FakeSink extends EventEmitter {
  chunks: Buffer[] = [];
  writableLength = 0;
  /** When false, writes are kept "unsent" and write() answers false, as a full socket does. */
  accepting = true;
  ended = false;
  destroyed = false;
  write(b: Buffer): boolean {
    this.chunks.push(b);
    if (!this.accepting) this.writableLength += b.length;
    return this.accepting;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit("close");
  }
  /** The socket caught up. */
  drained(): void {
    this.writableLength = 0;
    this.accepting = true;
    this.emit("drain");
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

const limits: ConnectionLimits = {
  maxQueuedBytes: 1 << 20,
  maxQueuedFrames: 5,
  stallTimeoutMs: 1_000,
  closeGraceMs: 60_000,
};
const tick = () => new Promise((r) => setImmediate(r));
const entry = (seq: number, text = `m${seq}`, channel = "c"): Entry => ({
  seq,
  channel,
  frame: messageFrame(`e-${seq}`, "note", text),
});

function make(over: Partial<ConnectionLimits> = {}, cursor = 0, scheduler = new WriteScheduler()) {
  const sink = new FakeSink();
  const closes: CloseReason[] = [];
  const conn = new Connection(sink, {
    channels: ["c"],
    cursor,
    limits: { ...limits, ...over },
    scheduler,
    idOf: (s) => `e-${s}`,
    onClose: (_c, r) => closes.push(r),
  });
  return { sink, conn, closes };
}

describe("the connection actor", () => {
  it("coalesces the frames queued in one turn into one write", async () => {
    const { sink, conn } = make();
    for (const s of [1, 2, 3]) conn.deliver(entry(s));
    assert.equal(sink.chunks.length, 0, "nothing is written synchronously");
    await tick();
    assert.equal(sink.chunks.length, 1);
    assert.deepEqual(
      parseFrames(sink.text()).frames.map((f) => f.id),
      ["e-1", "e-2", "e-3"],
    );
    conn.deliver(entry(4));
    await tick();
    assert.equal(sink.chunks.length, 2, "a later turn is a later write");
  });

  it("writes one shared buffer to every connection that queued the same frames in a round", async () => {
    const scheduler = new WriteScheduler();
    const a = make({}, 0, scheduler);
    const b = make({}, 0, scheduler);
    const other = make({}, 0, scheduler);
    const [e1, e2, e3] = [entry(1), entry(2), entry(3)];
    for (const e of [e1, e2]) {
      a.conn.deliver(e);
      b.conn.deliver(e);
    }
    other.conn.deliver(e1);
    other.conn.deliver(e3);
    await tick();
    assert.equal(a.sink.chunks.length, 1);
    assert.equal(b.sink.chunks[0], a.sink.chunks[0], "the same bytes, joined once");
    assert.notEqual(other.sink.chunks[0], a.sink.chunks[0], "other frames are joined apart");
    for (const x of [a, b]) {
      assert.deepEqual(
        parseFrames(x.sink.text()).frames.map((f) => f.id),
        ["e-1", "e-2"],
      );
    }
    assert.deepEqual(
      parseFrames(other.sink.text()).frames.map((f) => f.id),
      ["e-1", "e-3"],
    );
    a.conn.deliver(entry(4));
    a.conn.deliver(entry(5));
    await tick();
    assert.deepEqual(
      parseFrames(a.sink.text()).frames.map((f) => f.id),
      ["e-1", "e-2", "e-4", "e-5"],
      "a later round joins its own frames",
    );
  });

  it("skips frames at or below its cursor", async () => {
    const { sink, conn } = make({}, 5);
    for (const s of [4, 5, 6]) conn.deliver(entry(s));
    await tick();
    assert.deepEqual(
      parseFrames(sink.text()).frames.map((f) => f.id),
      ["e-6"],
    );
  });

  it("holds frames while the socket is blocked and writes them together on drain", async () => {
    const { sink, conn } = make();
    sink.accepting = false;
    conn.deliver(entry(1));
    await tick();
    conn.deliver(entry(2));
    conn.deliver(entry(3));
    await tick();
    assert.equal(sink.chunks.length, 1, "no write while blocked");
    sink.drained();
    await tick();
    assert.equal(sink.chunks.length, 2);
    assert.deepEqual(
      parseFrames(sink.text()).frames.map((f) => f.id),
      ["e-1", "e-2", "e-3"],
    );
  });

  it("closes a client whose queue passes its frame bound, with event: error, reason slow and its cursor", async () => {
    const { sink, conn, closes } = make();
    sink.accepting = false;
    conn.deliver(entry(1));
    await tick();
    for (let s = 2; s <= 7; s++) conn.deliver(entry(s));
    assert.deepEqual(closes, ["slow"]);
    assert.ok(sink.ended);
    const last = parseFrames(sink.text()).frames.at(-1)!;
    assert.equal(last.event, "error");
    const body = JSON.parse(last.data);
    assert.equal(body.code, "REALER_ERR_CLIENT_TOO_SLOW");
    assert.equal(body.reason, "slow");
    assert.equal(body.cursor, "e-1", "the cursor is the last frame written, not the last queued");
    conn.deliver(entry(8));
    await tick();
    assert.equal(parseFrames(sink.text()).frames.at(-1)!.event, "error", "nothing after the error");
  });

  it("closes a client whose queue passes its byte bound, counting the socket's unsent bytes", async () => {
    const { sink, conn, closes } = make({ maxQueuedBytes: 4096, maxQueuedFrames: 1000 });
    sink.accepting = false;
    conn.deliver(entry(1, "x".repeat(3000)));
    await tick();
    conn.deliver(entry(2, "y".repeat(1500)));
    assert.deepEqual(closes, ["slow"]);
  });

  it("closes a client whose socket stays blocked past the stall timeout", async () => {
    const { sink, conn, closes } = make();
    sink.accepting = false;
    conn.deliver(entry(1));
    await tick();
    conn.heartbeat(Date.now() + 500);
    assert.deepEqual(closes, [], "not yet");
    conn.heartbeat(Date.now() + 1_500);
    assert.deepEqual(closes, ["stalled"]);
    assert.equal(JSON.parse(parseFrames(sink.text()).frames.at(-1)!.data).reason, "stalled");
  });

  it("destroys the socket of a closed client that does not read its last frame within the grace", async () => {
    const { sink, conn } = make({ closeGraceMs: 50 });
    sink.accepting = false;
    conn.deliver(entry(1));
    await tick();
    conn.heartbeat(Date.now() + 5_000);
    // The grace timer does not hold the process open; this test does, until it fires.
    const hold = setTimeout(() => {}, 10_000);
    await new Promise<void>((r) => sink.once("close", () => r()));
    clearTimeout(hold);
    assert.ok(sink.destroyed);
  });

  it("sends a heartbeat comment only when nothing else is queued", async () => {
    const { sink, conn } = make();
    conn.heartbeat(Date.now());
    await tick();
    assert.equal(sink.text(), ":\n\n");
    conn.heartbeat(Date.now());
    conn.deliver(entry(1));
    conn.heartbeat(Date.now());
    await tick();
    assert.equal(parseFrames(sink.text()).frames.length, 1, "no extra frame");
  });

  it("skips the heartbeat on the first tick after a write and sends it on the next one", async () => {
    const { sink, conn } = make();
    conn.deliver(entry(1));
    await tick();
    conn.heartbeat(Date.now());
    await tick();
    assert.equal(sink.chunks.length, 1, "written since the last tick: no heartbeat");
    conn.heartbeat(Date.now());
    await tick();
    assert.equal(sink.chunks.length, 2);
    assert.equal(sink.chunks[1]!.toString(), ":\n\n");
  });

  it("writes a resume backlog only as fast as the socket drains, then the live frames held meanwhile", async () => {
    const { sink, conn, closes } = make({ maxQueuedFrames: 100 });
    conn.beginResume();
    conn.deliver(entry(21, "live-21"));
    const big = "z".repeat(30 * 1024);
    const backlog = Array.from({ length: 10 }, (_, i) => entry(i + 1, `${i + 1}:${big}`));
    sink.accepting = false;
    conn.resumeWith(backlog, 20);
    conn.deliver(entry(22, "live-22"));
    await tick();
    assert.equal(sink.chunks.length, 1, "one chunk, then wait for the socket");
    assert.ok(sink.chunks[0]!.length < 4 * 31 * 1024, "a chunk is a bounded slice of the backlog");
    while (conn.resuming) {
      sink.drained();
      sink.accepting = false;
      await tick();
    }
    sink.drained();
    await tick();
    const ids = parseFrames(sink.text()).frames.map((f) => f.id);
    assert.deepEqual(ids, [...backlog.map((e) => `e-${e.seq}`), "e-21", "e-22"]);
    assert.deepEqual(closes, []);
    assert.equal(conn.cursor, 22);
  });

  it("closes a resuming client whose held live frames pass the bound", async () => {
    const { conn, closes } = make({ maxQueuedFrames: 3 });
    conn.beginResume();
    for (let s = 1; s <= 4; s++) conn.deliver(entry(s));
    assert.deepEqual(closes, ["slow"]);
  });

  it("drains with what is queued, then its cursor and a retry delay, then ends", async () => {
    const { sink, conn, closes } = make();
    conn.deliver(entry(3));
    conn.deliver(entry(4));
    conn.drain(1234, 50);
    assert.deepEqual(closes, ["drain"]);
    assert.ok(sink.ended);
    const frames = parseFrames(sink.text()).frames;
    assert.deepEqual(
      frames.map((f) => f.id),
      ["e-3", "e-4", "e-50"],
    );
    assert.equal(frames[2]!.event, "drain");
    assert.equal(frames[2]!.retry, 1234);
  });

  it("drains a resuming client with the cursor it started from, not the hub's position", () => {
    const { sink, conn } = make({}, 7);
    conn.beginResume();
    conn.drain(1000, 50);
    assert.equal(parseFrames(sink.text()).frames.at(-1)!.id, "e-7");
  });
});
