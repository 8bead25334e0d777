/**
 * The producer SDK against a scripted broker: what an emit publishes, how
 * bad events and headers are refused, the in-flight and pending bounds,
 * retries with backoff, the publish deadline, and close.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Broker, PubAck, PublishOptions } from "../../src/broker/types.js";
import { CommentCreated, registerComments } from "../../src/demo/comments.js";
import { BrokerUnavailable, codeOf, EventInvalid } from "../../src/errors.js";
import { decodeEvent } from "../../src/events/envelope.js";
import { MAX_ID_LENGTH, MAX_KEY_LENGTH } from "../../src/events/envelope-rules.js";
import { eventSubject } from "../../src/events/partition.js";
import { EventRegistry } from "../../src/events/registry.js";
import { compileProducerOptions, defaultRetryOptions } from "../../src/producer/options.js";
import { Producer, type ProducerOptions } from "../../src/producer/producer.js";
import { backoffCap, withRetry } from "../../src/producer/retry.js";
import { Slots } from "../../src/producer/slots.js";

interface Publish {
  subject: string;
  data: Uint8Array;
  opts: PublishOptions | undefined;
}

/**
 * A broker that records publishes and answers each as `answer` says: an ack
 * (a repeated msgId is a duplicate), a thrown error, or a promise the test
 * resolves later.
 */
class ScriptedBroker {
  readonly publishes: Publish[] = [];
  readonly seen = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  closed = false;
  answer: (p: Publish, n: number) => Promise<void> | undefined = () => undefined;

  get connected(): boolean {
    return !this.closed;
  }

  async publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<PubAck> {
    const p = { subject, data, opts };
    this.publishes.push(p);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.answer(p, this.publishes.length);
    } finally {
      this.inFlight--;
    }
    const id = opts?.msgId ?? "";
    const duplicate = this.seen.has(id);
    this.seen.add(id);
    return { stream: "REALER_EVENTS", seq: this.seen.size, duplicate };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function producer(b: ScriptedBroker, o: Partial<ProducerOptions> = {}): Producer {
  return new Producer({ broker: b as unknown as Broker, ...o });
}

const body = (text: string) => ({
  comment: { id: "c1", threadId: "42", author: "ann", text, createdAt: 1_700_000_000_000 },
});

/** A promise and its resolve, for publishes the test holds open. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 2, timeoutMs: 5_000 };

describe("the producer", () => {
  it("publishes to its key's partition of the type, with the event id as dedupe id and the trace id as a header", async () => {
    const b = new ScriptedBroker();
    const p = producer(b, { prefix: "app.events", partitions: 8, name: "web@1" });
    const { event, ack } = await p.emit(CommentCreated, "thread:42", body("hi"), {
      id: "comment:1:v1",
      traceId: "trace-1",
      headers: { "X-Tenant": "t1" },
      occurredAt: 1234,
    });
    assert.equal(b.publishes.length, 1);
    const [sent] = b.publishes;
    assert.equal(sent!.subject, eventSubject("app.events", 8, CommentCreated.name, "thread:42"));
    assert.match(sent!.subject, /^app\.events\.p[0-7]\.comments\.v1\.CommentCreated$/);
    assert.equal(sent!.opts?.msgId, "comment:1:v1");
    assert.deepEqual(sent!.opts?.headers, { "Realer-Trace-Id": "trace-1" });
    const stored = decodeEvent(sent!.data);
    assert.equal(stored.id, "comment:1:v1");
    assert.equal(stored.key, "thread:42");
    assert.equal(stored.producer, "web@1");
    assert.equal(Number(stored.occurredAt), 1234);
    assert.deepEqual({ ...stored.headers }, { "X-Tenant": "t1" });
    assert.deepEqual(
      CommentCreated.decode(stored.payload),
      CommentCreated.decode(CommentCreated.encode(body("hi"))),
    );
    assert.equal(event.id, "comment:1:v1");
    assert.deepEqual(ack, { stream: "REALER_EVENTS", seq: 1, duplicate: false });
  });

  it("gives each event a fresh id and trace id unless told, and keeps one key on one subject", async () => {
    const b = new ScriptedBroker();
    const p = producer(b);
    const a = await p.emit(CommentCreated, "thread:7", body("a"));
    const c = await p.emit(CommentCreated, "thread:7", body("b"));
    assert.notEqual(a.event.id, c.event.id);
    assert.notEqual(a.event.traceId, c.event.traceId);
    assert.equal(b.publishes[0]!.subject, b.publishes[1]!.subject);
    assert.match(b.publishes[0]!.subject, /^realer\.events\.p\d+\./);
  });

  it("counts a repeated id the stream suppressed as a duplicate", async () => {
    const b = new ScriptedBroker();
    const p = producer(b);
    await p.emit(CommentCreated, "thread:1", body("x"), { id: "same" });
    const again = await p.emit(CommentCreated, "thread:1", body("x"), { id: "same" });
    assert.equal(again.ack.duplicate, true);
    assert.deepEqual(p.stats(), {
      inFlight: 0,
      pending: 0,
      published: 2,
      duplicates: 1,
      retries: 0,
      failed: 0,
    });
  });

  it("refuses a bad event at once, before publishing anything", async () => {
    const b = new ScriptedBroker();
    const p = producer(b);
    const cases: [string, () => Promise<unknown>, string, RegExp][] = [
      ["empty key", () => p.emit(CommentCreated, "", body("x")), "REALER_ERR_EVENT_INVALID", /key must be/],
      [
        "key too long",
        () => p.emit(CommentCreated, "k".repeat(MAX_KEY_LENGTH + 1), body("x")),
        "REALER_ERR_EVENT_INVALID",
        /key must be/,
      ],
      [
        "id too long",
        () => p.emit(CommentCreated, "k", body("x"), { id: "i".repeat(MAX_ID_LENGTH + 1) }),
        "REALER_ERR_EVENT_INVALID",
        /id must be/,
      ],
      [
        "id with a line break",
        () => p.emit(CommentCreated, "k", body("x"), { id: "a\r\nb" }),
        "REALER_ERR_EVENT_INVALID",
        /id is refused/,
      ],
      [
        "trace id with a control character",
        () => p.emit(CommentCreated, "k", body("x"), { traceId: "t\u0000" }),
        "REALER_ERR_EVENT_INVALID",
        /trace id is refused/,
      ],
      [
        "a reserved header",
        () => p.emit(CommentCreated, "k", body("x"), { headers: { "Nats-Msg-Id": "x" } }),
        "REALER_ERR_HEADER_INVALID",
        /Nats-Msg-Id/,
      ],
      [
        "a header name with a colon",
        () => p.emit(CommentCreated, "k", body("x"), { headers: { "a:b": "x" } }),
        "REALER_ERR_HEADER_INVALID",
        /a:b/,
      ],
      [
        "a body that does not fit its type",
        () => p.emit(CommentCreated, "k", { comment: "not a comment" } as never),
        "REALER_ERR_EVENT_INVALID",
        /body does not fit/,
      ],
      [
        "a type name without a registry",
        () => p.emit("comments.v1.CommentCreated", "k", {}),
        "REALER_ERR_EVENT_UNKNOWN_TYPE",
        /no registry/,
      ],
    ];
    for (const [what, emit, code, message] of cases) {
      await assert.rejects(emit(), (err: Error) => codeOf(err) === code && message.test(err.message), what);
    }
    assert.equal(b.publishes.length, 0);
  });

  it("emits by type name through its registry, and refuses a name it does not know", async () => {
    const registry = new EventRegistry();
    registerComments(registry);
    const b = new ScriptedBroker();
    const p = producer(b, { registry });
    const { event } = await p.emit(CommentCreated.name, "thread:1", body("by name"));
    assert.equal(event.type, CommentCreated.name);
    await assert.rejects(p.emit("no.such.Type", "k", {}), { code: "REALER_ERR_EVENT_UNKNOWN_TYPE" });
  });

  it("never has more than maxInFlight publishes at the broker, and serves waiting emits in order", async () => {
    const b = new ScriptedBroker();
    const gates = Array.from({ length: 6 }, gate);
    b.answer = (_p, n) => gates[n - 1]!.promise;
    const p = producer(b, { maxInFlight: 2 });
    const emits = Array.from({ length: 6 }, (_, i) => p.emit(CommentCreated, `k${i}`, body(`n${i}`)));
    await new Promise((r) => setImmediate(r));
    assert.equal(b.publishes.length, 2);
    assert.deepEqual(p.stats().pending, 4);
    for (const g of gates) g.open();
    const done = await Promise.all(emits);
    assert.equal(b.maxInFlight, 2);
    assert.deepEqual(
      b.publishes.map((x) => decodeEvent(x.data).key),
      ["k0", "k1", "k2", "k3", "k4", "k5"],
    );
    assert.equal(done.length, 6);
  });

  it("refuses an emit with REALER_ERR_PRODUCER_OVERLOADED when maxPending emits already wait", async () => {
    const b = new ScriptedBroker();
    const hold = gate();
    b.answer = () => hold.promise;
    const p = producer(b, { maxInFlight: 1, maxPending: 2 });
    const waiting = [0, 1, 2].map((i) => p.emit(CommentCreated, "k", body(`n${i}`)));
    await assert.rejects(p.emit(CommentCreated, "k", body("one too many")), {
      code: "REALER_ERR_PRODUCER_OVERLOADED",
    });
    hold.open();
    await Promise.all(waiting);
    assert.equal(b.publishes.length, 3, "the refused emit published nothing");
  });

  it("retries a passing failure with the same id until the broker stores the event", async () => {
    const b = new ScriptedBroker();
    b.answer = (_p, n) => (n <= 3 ? Promise.reject(new BrokerUnavailable("down")) : undefined);
    const warned: unknown[] = [];
    const log = { warn: (o: unknown) => warned.push(o) } as unknown as ProducerOptions["log"];
    const p = producer(b, { retry: FAST_RETRY, ...(log ? { log } : {}) });
    const { event } = await p.emit(CommentCreated, "k", body("through an outage"));
    assert.equal(b.publishes.length, 4);
    assert.deepEqual(new Set(b.publishes.map((x) => x.opts?.msgId)), new Set([event.id]));
    assert.equal(p.stats().retries, 3);
    assert.equal(warned.length, 3);
  });

  it("fails at once, without retrying, on an error whose disposition is not retry", async () => {
    const b = new ScriptedBroker();
    b.answer = () => Promise.reject(new EventInvalid("the broker refused it"));
    const p = producer(b, { retry: FAST_RETRY });
    await assert.rejects(p.emit(CommentCreated, "k", body("x")), { code: "REALER_ERR_EVENT_INVALID" });
    assert.equal(b.publishes.length, 1);
    assert.equal(p.stats().failed, 1);
  });

  it("gives up with REALER_ERR_PUBLISH_TIMEOUT at its deadline, with the last error as the cause", async () => {
    const b = new ScriptedBroker();
    b.answer = () => Promise.reject(new BrokerUnavailable("still down"));
    const p = producer(b, { retry: { initialDelayMs: 5, maxDelayMs: 10, timeoutMs: 5_000 } });
    const started = Date.now();
    await assert.rejects(p.emit(CommentCreated, "k", body("x"), { timeoutMs: 60 }), (err: Error) => {
      assert.equal(codeOf(err), "REALER_ERR_PUBLISH_TIMEOUT");
      assert.match(err.message, /within 60 ms \(broker unavailable: still down\)/);
      assert.equal(codeOf(err.cause), "REALER_ERR_BROKER_UNAVAILABLE");
      return true;
    });
    assert.ok(Date.now() - started < 1_000, "the per-event timeout, not the producer's, applied");
    assert.ok(b.publishes.length >= 2);
  });

  it("refuses emits after close, waits for those in flight, and closes the broker only when it owns it", async () => {
    const b = new ScriptedBroker();
    const hold = gate();
    b.answer = () => hold.promise;
    const p = producer(b);
    const inFlight = p.emit(CommentCreated, "k", body("last"));
    let closed = false;
    const closing = p.close().then(() => {
      closed = true;
    });
    await assert.rejects(p.emit(CommentCreated, "k", body("late")), { code: "REALER_ERR_PRODUCER_CLOSED" });
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, false, "close waits for the publish in flight");
    hold.open();
    await inFlight;
    await closing;
    assert.equal(b.closed, false, "the broker belongs to the caller");

    const owned = new ScriptedBroker();
    await producer(owned, { ownsBroker: true }).close();
    assert.equal(owned.closed, true);
  });
});

describe("producer options", () => {
  it("fills in the defaults without touching its input", () => {
    const b = new ScriptedBroker() as unknown as Broker;
    const input: ProducerOptions = { broker: b, retry: { timeoutMs: 10 } };
    const c = compileProducerOptions(input);
    assert.deepEqual(
      { ...c, broker: undefined },
      {
        broker: undefined,
        registry: undefined,
        prefix: "realer.events",
        partitions: 64,
        name: "realer",
        maxInFlight: 256,
        maxPending: 10_000,
        retry: { ...defaultRetryOptions(), timeoutMs: 10 },
        log: undefined,
        ownsBroker: false,
      },
    );
    assert.deepEqual(input, { broker: b, retry: { timeoutMs: 10 } });
  });

  it("refuses numbers out of range", () => {
    const b = new ScriptedBroker() as unknown as Broker;
    for (const o of [
      { maxInFlight: 0 },
      { maxPending: -1 },
      { partitions: 0 },
      { retry: { initialDelayMs: 0 } },
      { retry: { maxDelayMs: Number.NaN } },
      { retry: { timeoutMs: -1 } },
    ]) {
      assert.throws(() => compileProducerOptions({ broker: b, ...o }), RangeError, JSON.stringify(o));
    }
  });
});

describe("publish retries", () => {
  it("caps the backoff at initialDelay x 2^attempt, then at maxDelay", () => {
    const o = { initialDelayMs: 100, maxDelayMs: 5_000, timeoutMs: 60_000 };
    assert.deepEqual(
      [0, 1, 2, 3, 5, 6, 100].map((n) => backoffCap(n, o)),
      [100, 200, 400, 800, 3_200, 5_000, 5_000],
    );
  });

  it("waits a random share of the cap before each retry (full jitter)", async () => {
    const delays: number[] = [];
    let n = 0;
    const value = await withRetry(
      "e1",
      async () => {
        if (++n < 4) throw new Error("passing");
        return "stored";
      },
      { initialDelayMs: 8, maxDelayMs: 20, timeoutMs: 5_000 },
      { random: () => 0.5, onRetry: (_err, _attempt, delayMs) => delays.push(delayMs) },
    );
    assert.equal(value, "stored");
    assert.deepEqual(delays, [4, 8, 10]);
  });
});

describe("in-flight slots", () => {
  it("hands slots to waiters in order, refuses past maxWaiting, and tells when idle", async () => {
    const s = new Slots(1, 2);
    await s.acquire();
    const order: number[] = [];
    const a = s.acquire().then(() => order.push(1));
    const c = s.acquire().then(() => order.push(2));
    await assert.rejects(s.acquire(), { code: "REALER_ERR_PRODUCER_OVERLOADED" });
    assert.deepEqual([s.held, s.waiting], [1, 2]);
    let idle = false;
    const idled = s.idle().then(() => {
      idle = true;
    });
    s.release();
    await a;
    s.release();
    await c;
    assert.deepEqual(order, [1, 2]);
    assert.equal(idle, false);
    s.release();
    await idled;
    assert.deepEqual([s.held, s.waiting, idle], [0, 0, true]);
  });
});
