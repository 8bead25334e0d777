import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { ensureStreams, loadDomain, startWorker } from "../../src/cli/components.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { decodeChannelMessage } from "../../src/events/envelope.js";
import { Producer } from "../../src/producer/producer.js";
import type { Worker } from "../../src/worker/worker.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { testConfig } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

describe("a trace id from producer to worker log to channel message", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let worker: Worker;
  const lines: Record<string, unknown>[] = [];
  const cfg = testConfig();

  before(async () => {
    server = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: server.url });
    await ensureStreams(broker, cfg);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n"))
          if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    worker = await startWorker(broker, cfg, loadDomain(), pino({ level: "debug" }, sink));
  });

  after(async () => {
    await worker?.stop();
    await broker?.close();
    await server?.stop();
  });

  it("logs the producer's trace id when the worker settles the event, and the channel message carries it", async () => {
    const producer = new Producer({
      broker,
      registry: loadDomain().registry,
      prefix: cfg.subjects.events,
      name: "test",
    });
    const { event } = await producer.emit(
      CommentCreated.name,
      "thread:tr",
      { comment: { id: "t1", threadId: "tr", author: "fa", text: "traced", createdAt: 1 } },
      { traceId: "4bf92f3577b34da6a3ce929d0e0e4736" },
    );
    const line = await waitFor(() => lines.find((l) => l.msg === "event acked" && l.eventId === event.id), {
      timeoutMs: 30_000,
      what: "the worker's log line for the event",
    });
    assert.equal(line.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
    const [m] = await (async () => {
      const out = [];
      for await (const x of broker.read(cfg.streams.channels.name, { fromSeq: 1 })) out.push(x);
      return out;
    })();
    assert.equal(decodeChannelMessage(m!.data).traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  });
});
