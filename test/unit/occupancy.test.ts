/**
 * Occupancy between edges over a scripted signal bus (delivery is synchronous
 * and every announcement is visible), with node's mock timers standing in for
 * the intervals: counts across edges, coalesced changes, full announcements,
 * hello and bye, forgetting a silent edge, and a broker without signals.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { subjectMatches } from "../../src/broker/subject.js";
import type { Broker } from "../../src/broker/types.js";
import { Occupancy } from "../../src/edge/occupancy.js";
import { createLogger } from "../../src/log/logger.js";

const SUBJECT = "realer.occupancy";
const INTERVAL_MS = 1_000;
const log = createLogger({ level: "silent" });

/** Core pub/sub in one process: every signal reaches every matching listener at once, and is recorded. */
class Bus {
  readonly sent: { subject: string; a: Record<string, unknown> }[] = [];
  readonly #listeners = new Set<{ filter: string; fn: (s: string, d: Uint8Array) => void }>();

  signal(subject: string, data: Uint8Array): void {
    const text = Buffer.from(data).toString("utf8");
    let a: Record<string, unknown>;
    try {
      a = JSON.parse(text) as Record<string, unknown>;
    } catch {
      a = { unreadable: text };
    }
    this.sent.push({ subject, a });
    for (const l of [...this.#listeners]) if (subjectMatches(l.filter, subject)) l.fn(subject, data);
  }

  listen(filter: string, fn: (s: string, d: Uint8Array) => void): { stop(): void } {
    const l = { filter, fn };
    this.#listeners.add(l);
    return { stop: () => this.#listeners.delete(l) };
  }

  /** An announcement from an edge that is not an Occupancy of this test. */
  raw(edge: string, a: Record<string, unknown>): void {
    this.signal(`${SUBJECT}.${edge}`, Buffer.from(JSON.stringify({ e: edge, ...a })));
  }

  /** What `edge` announced, in order. */
  from(edge: string): Record<string, unknown>[] {
    return this.sent.filter((s) => s.a.e === edge).map((s) => s.a);
  }
}

/** An edge: its own counts, and its Occupancy on the bus. */
function edge(bus: Bus | object) {
  const local = new Map<string, number>();
  const occ = new Occupancy({
    broker: bus as unknown as Broker,
    subject: SUBJECT,
    intervalMs: INTERVAL_MS,
    log,
    local: (ch) => local.get(ch) ?? 0,
    localAll: () => local.entries(),
  });
  const set = (ch: string, n: number) => {
    local.set(ch, n);
    occ.changed(ch);
  };
  return { occ, local, set };
}

describe("occupancy", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it("adds every edge's subscribers of a channel to this edge's own", () => {
    const bus = new Bus();
    const a = edge(bus);
    const b = edge(bus);
    a.local.set("thread:1", 2);
    a.occ.start();
    b.occ.start();
    b.set("thread:1", 3);
    mock.timers.tick(20);
    assert.equal(a.occ.count("thread:1"), 5);
    assert.equal(b.occ.count("thread:1"), 5, "b learned a's count from a's answer to its hello");
    assert.equal(a.occ.count("thread:2"), 0);
  });

  it("gathers a burst of changes into one announcement of absolute counts, 20 ms after the first", () => {
    const bus = new Bus();
    const a = edge(bus);
    a.occ.start();
    a.set("c1", 1);
    a.set("c2", 4);
    a.set("c1", 2);
    mock.timers.tick(19);
    assert.equal(bus.from(a.occ.edgeId).length, 1, "only the hello so far");
    mock.timers.tick(1);
    assert.deepEqual(bus.from(a.occ.edgeId).at(-1), { e: a.occ.edgeId, c: { c1: 2, c2: 4 } });
    assert.equal(bus.sent.at(-1)!.subject, `${SUBJECT}.${a.occ.edgeId}`);
  });

  it("drops a channel whose count fell to 0, and a full announcement replaces what was known", () => {
    const bus = new Bus();
    const a = edge(bus);
    a.occ.start();
    bus.raw("peer", { c: { x: 3, y: 1 } });
    assert.equal(a.occ.count("x"), 3);
    bus.raw("peer", { c: { x: 0 } });
    assert.equal(a.occ.count("x"), 0);
    assert.equal(a.occ.count("y"), 1);
    bus.raw("peer", { full: true, c: { z: 2 } });
    assert.deepEqual(
      ["x", "y", "z"].map((ch) => a.occ.count(ch)),
      [0, 0, 2],
    );
  });

  it("answers a new edge's hello with all of its counts at once", () => {
    const bus = new Bus();
    const a = edge(bus);
    a.local.set("c1", 2);
    a.local.set("gone", 0);
    a.occ.start();
    bus.raw("newcomer", { hello: true, full: true, c: {} });
    assert.deepEqual(bus.from(a.occ.edgeId).at(-1), { e: a.occ.edgeId, full: true, c: { c1: 2 } });
  });

  it("re-announces everything every interval, forgets an edge silent for three, and one that says bye at once", () => {
    const bus = new Bus();
    const a = edge(bus);
    a.local.set("c", 1);
    a.occ.start();
    bus.raw("quiet", { c: { c: 5 } });
    bus.raw("leaving", { c: { c: 7 } });
    assert.equal(a.occ.count("c"), 13);
    bus.raw("leaving", { bye: true });
    assert.equal(a.occ.count("c"), 6);

    mock.timers.tick(INTERVAL_MS);
    assert.deepEqual(bus.from(a.occ.edgeId).at(-1), { e: a.occ.edgeId, full: true, c: { c: 1 } });
    mock.timers.tick(2 * INTERVAL_MS);
    assert.equal(a.occ.count("c"), 6, "three intervals have just passed: not yet forgotten");
    mock.timers.tick(1);
    assert.equal(a.occ.count("c"), 1, "silent past three intervals: forgotten");
  });

  it("says bye when it stops, and peers forget it", () => {
    const bus = new Bus();
    const a = edge(bus);
    const b = edge(bus);
    a.occ.start();
    b.occ.start();
    b.set("c", 2);
    mock.timers.tick(20);
    assert.equal(a.occ.count("c"), 2);
    b.occ.stop();
    assert.deepEqual(bus.from(b.occ.edgeId).at(-1), { e: b.occ.edgeId, bye: true });
    assert.equal(a.occ.count("c"), 0);
  });

  it("ignores its own announcements and ones it cannot read", () => {
    const bus = new Bus();
    const a = edge(bus);
    a.local.set("c", 1);
    a.occ.start();
    bus.raw(a.occ.edgeId, { c: { c: 10 } });
    bus.signal(`${SUBJECT}.junk`, Buffer.from("not json"));
    bus.signal(`${SUBJECT}.junk`, Buffer.from(JSON.stringify({ c: { c: 10 } })));
    bus.raw("peer", { c: { c: "many", d: -1 } });
    assert.equal(a.occ.count("c"), 1);
    assert.equal(a.occ.count("d"), 0);
  });

  it("counts only this edge's subscribers on a broker without signals", () => {
    const a = edge({});
    a.local.set("c", 4);
    a.occ.start();
    a.set("c", 5);
    mock.timers.tick(INTERVAL_MS * 5);
    assert.equal(a.occ.count("c"), 5);
    a.occ.stop();
  });
});
