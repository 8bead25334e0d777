/**
 * The producer SDK against a real nats-server: dedupe on retry, publishing
 * through a server restart, bounded in-flight, and clear errors.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker, natsConnectionOf } from "../../src/broker/jetstream/broker.js";
import type { Broker, PubAck } from "../../src/broker/types.js";
import { ensureStreams, loadDomain } from "../../src/cli/components.js";
import type { RealerConfig } from "../../src/config/config.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { decodeEvent } from "../../src/events/envelope.js";
import { Producer, type ProducerOptions } from "../../src/producer/producer.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { testConfig } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

/** Wraps a real broker: lets tests lose acks, count concurrency, or hold publishes. */
class WrappedBroker {
  inFlight = 0;
  maxSeen = 0;
  loseAcks = 0;
  gate: Promise<void> | undefined;
  constructor(readonly inner: Broker) {}
  asBroker(): Broker {
    return new Proxy(this.inner, {
      get: (target, prop) => {
        if (prop === "publish") return (...a: Parameters<Broker["publish"]>) => this.publish(...a);
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }
  async publish(...a: Parameters<Broker["publish"]>): Promise<PubAck> {
    this.inFlight++;
    this.maxSeen = Math.max(this.maxSeen, this.inFlight);
    try {
      if (this.gate) await this.gate;
      const ack = await this.inner.publish(...a);
      if (this.loseAcks > 0) {
        this.loseAcks--;
        // Stored, but the producer never hears of it: exactly a lost PubAck.
        throw new Error("ack lost on the way back");
      }
      return ack;
    } finally {
      this.inFlight--;
    }
  }
}

async function storedIds(broker: Broker, cfg: RealerConfig, fromSeq = 1): Promise<string[]> {
  const ids: string[] = [];
  for await (const m of broker.read(cfg.streams.events.name, { fromSeq })) ids.push(decodeEvent(m.data).id);
  return ids;
}

const comment = (thread: string, text: string) => ({
  comment: { id: randomUUID(), threadId: thread, author: "sdk", text, createdAt: Date.now() },
});

describe("the producer SDK on a real nats-server", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let cfg: RealerConfig;
  const producer = (w: WrappedBroker, o: Partial<ProducerOptions> = {}) =>
    new Producer({
      broker: w.asBroker(),
      registry: loadDomain().registry,
      prefix: cfg.subjects.events,
      name: "sdk-test",
      retry: { initialDelayMs: 20, maxDelayMs: 500, timeoutMs: 60_000 },
      ...o,
    });

  before(async () => {
    server = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: server.url });
    cfg = testConfig((c) => {
      c.nats = server.url;
    });
    await ensureStreams(broker, cfg);
  });
  after(async () => {
    await broker?.close();
    await server?.stop();
  });

  it("stores each event once when its ack is lost and the publish is retried", async () => {
    const w = new WrappedBroker(broker);
    const p = producer(w);
    const { lastSeq } = await broker.streamState(cfg.streams.events.name);
    w.loseAcks = 20;
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        p.emit(CommentCreated, "thread:dedupe", comment("dedupe", `n${i}`)),
      ),
    );
    assert.equal(p.stats().retries, 20, "every first attempt lost its ack");
    assert.ok(
      sent.every((s) => s.ack.duplicate),
      "each retry was recognised as a duplicate",
    );
    const ids = await storedIds(broker, cfg, lastSeq + 1);
    assert.equal(ids.length, 20, "twenty events stored, not forty");
    assert.deepEqual(new Set(ids), new Set(sent.map((s) => s.event.id)));
  });

  it("suppresses an application-level retry that reuses the event id", async () => {
    const p = producer(new WrappedBroker(broker));
    const id = `comment-${randomUUID()}`;
    const body = comment("dedupe", "once");
    const first = await p.emit(CommentCreated, "thread:dedupe", body, { id });
    const again = await p.emit(CommentCreated, "thread:dedupe", body, { id });
    assert.equal(first.ack.duplicate, false);
    assert.equal(again.ack.duplicate, true);
    assert.equal(again.ack.seq, first.ack.seq);
    const { lastSeq } = await broker.streamState(cfg.streams.events.name);
    assert.equal(lastSeq, first.ack.seq, "nothing stored after the first");
  });

  it("keeps publishing through a server restart and loses nothing", async (t) => {
    const w = new WrappedBroker(broker);
    const p = producer(w, { maxInFlight: 16 });
    const { lastSeq } = await broker.streamState(cfg.streams.events.name);
    const total = 600;
    const results: Promise<{ event: { id: string } }>[] = [];
    let restarted = false;
    const restart = (async () => {
      await waitFor(() => p.stats().published >= 150, { timeoutMs: 30_000, what: "150 events stored" });
      await server.restart();
      restarted = true;
    })();
    for (let i = 0; i < total; i++) {
      // Paced by the producer's own bound: at most 16 in flight, the rest wait their turn.
      results.push(p.emit(CommentCreated, `thread:restart-${i % 7}`, comment(`restart-${i % 7}`, `n${i}`)));
      if (i % 16 === 15) await p.flush();
    }
    await restart;
    const sent = await Promise.all(results);
    assert.ok(restarted);
    t.diagnostic(`stored ${total} through a restart; producer stats ${JSON.stringify(p.stats())}`);
    const ids = await storedIds(broker, cfg, lastSeq + 1);
    assert.equal(ids.length, total, `all ${total} stored exactly once (retries: ${p.stats().retries})`);
    assert.equal(new Set(ids).size, total, "no event stored twice");
    assert.deepEqual(new Set(ids), new Set(sent.map((s) => s.event.id)));
    // And it goes on after the restart.
    const later = await p.emit(CommentCreated, "thread:restart-0", comment("restart-0", "after"));
    assert.ok(later.ack.seq > lastSeq + total);
  });

  it("never has more publishes in flight than maxInFlight", async () => {
    const w = new WrappedBroker(broker);
    const p = producer(w, { maxInFlight: 8 });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        p.emit(CommentCreated, "thread:bound", comment("bound", `n${i}`)),
      ),
    );
    assert.equal(w.maxSeen, 8);
    assert.equal(p.stats().published, 200);
  });

  it("refuses an emit with REALER_ERR_PRODUCER_OVERLOADED when maxPending emits already wait", async () => {
    const w = new WrappedBroker(broker);
    let open!: () => void;
    w.gate = new Promise((r) => {
      open = r;
    });
    const p = producer(w, { maxInFlight: 2, maxPending: 3 });
    const accepted = Array.from({ length: 5 }, (_, i) =>
      p.emit(CommentCreated, "thread:full", comment("full", `n${i}`)),
    );
    await waitFor(() => p.stats().inFlight === 2 && p.stats().pending === 3, {
      what: "2 in flight, 3 pending",
    });
    await assert.rejects(p.emit(CommentCreated, "thread:full", comment("full", "one too many")), {
      code: "REALER_ERR_PRODUCER_OVERLOADED",
    });
    open();
    assert.equal((await Promise.all(accepted)).length, 5, "the accepted ones are all stored");
  });

  it("rejects bad events at once with a catalogue code and stores nothing", async () => {
    const p = producer(new WrappedBroker(broker));
    // Typed event types are checked by the compiler (`npx tsc` fails if this line stops being an error).
    // @ts-expect-error: `comment.threadId` is a string in comments.v1.ICommentCreated
    const typed = () => p.emit(CommentCreated, "k", { comment: { threadId: 42 } });
    assert.equal(typeof typed, "function");
    const { lastSeq } = await broker.streamState(cfg.streams.events.name);
    await assert.rejects(p.emit("no.such.Type", "k", {}), { code: "REALER_ERR_EVENT_UNKNOWN_TYPE" });
    await assert.rejects(p.emit(CommentCreated, "", comment("x", "y")), {
      code: "REALER_ERR_EVENT_INVALID",
      message: /key/,
    });
    await assert.rejects(p.emit("comments.v1.CommentCreated", "k", { comment: "not an object" }), {
      code: "REALER_ERR_EVENT_INVALID",
      message: /comments\.v1\.CommentCreated/,
    });
    await assert.rejects(p.emit(CommentCreated, "k", comment("x", "y"), { id: "x".repeat(129) }), {
      code: "REALER_ERR_EVENT_INVALID",
    });
    assert.equal((await broker.streamState(cfg.streams.events.name)).lastSeq, lastSeq);
  });

  it("gives up with REALER_ERR_PUBLISH_TIMEOUT, naming the event and the cause, when the broker keeps failing", async () => {
    const failing = new Proxy(broker as Broker, {
      get: (t, prop) =>
        prop === "publish"
          ? () => Promise.reject(new Error("connection refused"))
          : (Reflect.get(t, prop) as unknown),
    });
    const p = new Producer({
      broker: failing,
      retry: { initialDelayMs: 10, maxDelayMs: 50, timeoutMs: 400 },
    });
    const err = await p
      .emit(CommentCreated, "k", comment("x", "y"), { id: "evt-timeout" })
      .catch((e: unknown) => e);
    assert.equal((err as { code?: string }).code, "REALER_ERR_PUBLISH_TIMEOUT");
    assert.match((err as Error).message, /evt-timeout.*400 ms.*connection refused/);
    assert.ok(p.stats().retries >= 2, "it retried before giving up");
    await p.close();
    await assert.rejects(p.emit(CommentCreated, "k", comment("x", "y")), {
      code: "REALER_ERR_PRODUCER_CLOSED",
    });
  });
});

describe("the package entry", () => {
  it("connects a producer that owns its NATS connection and emits typed events", async () => {
    const { connectProducer, CommentCreated: Created } = await import("../../src/index.js");
    const server = await startNatsServer();
    try {
      const setup = await JetStreamBroker.connect({ servers: server.url });
      const cfg = testConfig((c) => {
        c.nats = server.url;
      });
      await ensureStreams(setup, cfg);
      const p = await connectProducer({ servers: server.url, name: "app@1.0.0" });
      const { event, ack } = await p.emit(Created, "thread:pkg", comment("pkg", "from the package"));
      assert.equal(ack.seq, 1);
      assert.equal(event.producer, "app@1.0.0");
      await p.close();
      assert.equal(
        natsConnectionOf(p.broker as JetStreamBroker).isClosed(),
        true,
        "close() closed the connection it owned",
      );
      await setup.close();
    } finally {
      await server.stop();
    }
  });

  it("refuses to connect a producer to a server that is not there, with REALER_ERR_BROKER_UNAVAILABLE", async () => {
    const { connectProducer } = await import("../../src/index.js");
    const server = await startNatsServer();
    const url = server.url;
    await server.stop();
    await assert.rejects(connectProducer({ servers: url }), { code: "REALER_ERR_BROKER_UNAVAILABLE" });
  });
});
