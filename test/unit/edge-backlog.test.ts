/**
 * A resume's backlog from the stream: merged in sequence order across
 * channels, read a page per channel at a time, and never more than one page
 * per channel held, however long the history.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import type { StoredMessage } from "../../src/broker/types.js";
import { pageSize, StreamBacklog } from "../../src/edge/backlog.js";
import { HistoryPages } from "../../src/edge/history.js";
import type { Entry } from "../../src/edge/types.js";

const STREAM = "CH";
const entry = (m: StoredMessage): Entry => ({
  seq: m.seq,
  channel: m.subject.slice("ch.".length),
  frame: Buffer.from(m.data),
});

async function stream(channels: number, each: number, bytes = 1024) {
  const broker = new MemoryBroker();
  await broker.ensureStream({ name: STREAM, subjects: ["ch.>"] });
  for (let i = 0; i < each; i++)
    for (let c = 0; c < channels; c++)
      await broker.publish(`ch.c${c}`, new Uint8Array(bytes).fill(65 + (c % 26)));
  let reads = 0;
  const counting = new Proxy(broker, {
    get(target, prop, receiver) {
      if (prop === "read") {
        return (s: string, o: Parameters<MemoryBroker["read"]>[1]) => {
          reads++;
          return target.read(s, o);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { broker, pages: new HistoryPages(counting, STREAM, "ch", entry, 4), reads: () => reads };
}

describe("StreamBacklog", () => {
  it("merges its channels in sequence order and ends after the last", async () => {
    const { pages } = await stream(3, 10);
    const b = new StreamBacklog(pages, ["c0", "c2"], 4, 28, 4);
    const seqs: number[] = [];
    for (let chunk = await b.next(5_000); chunk.length > 0; chunk = await b.next(5_000))
      for (const e of chunk) seqs.push(e.seq);
    const want = [];
    for (let s = 5; s <= 28; s++) if ((s - 1) % 3 !== 1) want.push(s);
    assert.deepEqual(seqs, want);
  });

  it("holds at most one page per channel, whatever the history's length", async () => {
    const channels = 32;
    const { pages, reads } = await stream(channels, 200);
    const size = pageSize(channels, 256 * 1024);
    assert.equal(size, 4);
    const names = Array.from({ length: channels }, (_, i) => `c${i}`);
    const b = new StreamBacklog(pages, names, 0, channels * 200, size);
    const first = await b.next(64 * 1024);
    assert.ok(first.length >= 64 && first.length <= 65, `one chunk of about 64 KB (${first.length} frames)`);
    assert.ok(b.held <= channels * size, `${b.held} held`);
    const readsForOneChunk = reads();
    assert.ok(readsForOneChunk <= channels * 2, `${readsForOneChunk} page reads for one chunk`);
    let total = first.length;
    for (let chunk = await b.next(64 * 1024); chunk.length > 0; chunk = await b.next(64 * 1024)) {
      assert.ok(b.held <= channels * size);
      total += chunk.length;
    }
    assert.equal(total, channels * 200);
    b.close();
  });

  it("shares a page among resumes that ask for it at the same time", async () => {
    const { pages, reads } = await stream(2, 20);
    const a = new StreamBacklog(pages, ["c0", "c1"], 0, 40, 8);
    const b = new StreamBacklog(pages, ["c0", "c1"], 0, 40, 8);
    const [x, y] = await Promise.all([a.next(4_000), b.next(4_000)]);
    assert.deepEqual(
      x.map((e) => e.seq),
      y.map((e) => e.seq),
    );
    assert.equal(reads(), 2, "one read per channel for both");
  });
});
