/**
 * Event partitions: a key always lands in the same partition, keys spread
 * over all of them, and the subjects match the filters workers consume by.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { subjectMatches } from "../../src/broker/subject.js";
import {
  eventSubject,
  eventTypeFilter,
  partitionDurables,
  partitionFilter,
  partitionOf,
} from "../../src/events/partition.js";

describe("event partitions", () => {
  it("puts a key in the same partition every time, within range", () => {
    for (const key of ["thread:1", "thread:2", "", "ü-ключ", "x".repeat(500)]) {
      const p = partitionOf(key, 64);
      assert.ok(Number.isInteger(p) && p >= 0 && p < 64, `${key}: ${p}`);
      assert.equal(partitionOf(key, 64), p);
    }
    assert.equal(partitionOf("anything", 1), 0);
  });

  it("spreads keys over every partition", () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[partitionOf(`thread:${i}`, 16)]!++;
    for (const c of counts) assert.ok(c > 700 && c < 1300, `partition sizes ${counts.join(",")}`);
  });

  it("publishes where its partition's consumer and the type filter look", () => {
    const s = eventSubject("realer.events", 64, "comments.v1.CommentCreated", "thread:42");
    const p = partitionOf("thread:42", 64);
    assert.equal(s, `realer.events.p${p}.comments.v1.CommentCreated`);
    assert.ok(subjectMatches(partitionFilter("realer.events", p), s));
    assert.ok(!subjectMatches(partitionFilter("realer.events", (p + 1) % 64), s));
    assert.ok(subjectMatches(eventTypeFilter("realer.events", "comments.v1.CommentCreated"), s));
    assert.deepEqual(partitionDurables("realer-worker", 3), [
      "realer-worker-p0",
      "realer-worker-p1",
      "realer-worker-p2",
    ]);
  });
});
