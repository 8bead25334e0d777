/**
 * The edge's write scheduler: connections marked during a turn are flushed
 * together once, in order, in the next one; joined frame lists are shared
 * between connections with the same frames; what was written is counted
 * once per round.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { edgeMetrics } from "../../src/edge/metrics.js";
import { type Flushable, WriteScheduler } from "../../src/edge/write-scheduler.js";

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

function conn(name: string, log: string[], onFlush: () => void = () => {}): Flushable {
  return {
    marked: false,
    flush() {
      log.push(name);
      onFlush();
    },
  };
}

const metric = async (
  m: { get(): Promise<{ values: { value: number; metricName?: string }[] }> },
  name?: string,
) => (await m.get()).values.find((v) => name === undefined || v.metricName === name)?.value ?? 0;

describe("the write scheduler", () => {
  it("flushes each marked connection once, in the order marked, on the next turn", async () => {
    const s = new WriteScheduler();
    const log: string[] = [];
    const a = conn("a", log);
    const b = conn("b", log);
    s.mark(a);
    s.mark(b);
    s.mark(a);
    assert.deepEqual([log, a.marked, b.marked], [[], true, true], "nothing is flushed in the marking turn");
    await nextTurn();
    assert.deepEqual(log, ["a", "b"]);
    assert.deepEqual([a.marked, b.marked], [false, false]);
  });

  it("puts a connection that marks itself while flushing into the next round", async () => {
    const s = new WriteScheduler();
    const log: string[] = [];
    let again = true;
    const a: Flushable = conn("a", log, () => {
      if (again) s.mark(a);
      again = false;
    });
    s.mark(a);
    await nextTurn();
    assert.deepEqual(log, ["a"]);
    assert.equal(a.marked, true);
    await nextTurn();
    assert.deepEqual(log, ["a", "a"]);
    assert.equal(a.marked, false);
  });

  it("joins a frame list once for consecutive connections with the same frames, within one round", async () => {
    const s = new WriteScheduler();
    const f1 = Buffer.from("id: 1\ndata: a\n\n");
    const f2 = Buffer.from("id: 2\ndata: b\n\n");
    assert.equal(s.join([f1], f1.length), f1, "a single frame is written as is");
    const first = s.join([f1, f2], f1.length + f2.length);
    assert.deepEqual(first, Buffer.concat([f1, f2]));
    assert.equal(s.join([f1, f2], f1.length + f2.length), first, "the same frames: the same buffer");
    const other = s.join([f2, f1], f1.length + f2.length);
    assert.notEqual(other, first);
    assert.deepEqual(other, Buffer.concat([f2, f1]));

    s.mark(conn("a", []));
    await nextTurn();
    assert.notEqual(s.join([f2, f1], f1.length + f2.length), other, "a new round joins afresh");
  });

  it("counts frames, bytes and one write latency per round, and nothing for a round without writes", async () => {
    const s = new WriteScheduler();
    const frames0 = await metric(edgeMetrics.frames);
    const bytes0 = await metric(edgeMetrics.bytes);
    const rounds0 = await metric(edgeMetrics.writeLatency, "realer_edge_write_latency_seconds_count");

    const a = conn("a", [], () => s.wrote(2, 100));
    const b = conn("b", [], () => s.wrote(1, 40));
    s.mark(a);
    s.mark(b);
    await nextTurn();
    assert.equal((await metric(edgeMetrics.frames)) - frames0, 3);
    assert.equal((await metric(edgeMetrics.bytes)) - bytes0, 140);
    const rounds1 = await metric(edgeMetrics.writeLatency, "realer_edge_write_latency_seconds_count");
    assert.equal(rounds1 - rounds0, 1);

    s.mark(conn("idle", []));
    await nextTurn();
    assert.equal(await metric(edgeMetrics.writeLatency, "realer_edge_write_latency_seconds_count"), rounds1);
  });
});
