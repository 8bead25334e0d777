import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { ensureStreams, loadDomain, startWorker } from "../../src/cli/components.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { EventInvalid } from "../../src/errors.js";
import { decodeChannelMessage } from "../../src/events/envelope.js";
import { createLogger } from "../../src/log/logger.js";
import { DeadLetters } from "../../src/ops/dlq.js";
import { Producer } from "../../src/producer/producer.js";
import type { Worker } from "../../src/worker/worker.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { testConfig } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";
import { cli } from "./ops-cli.js";

describe("realer dlq on JetStream", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let worker: Worker | undefined;
  const cfg = testConfig();
  const log = createLogger({ level: "silent" });
  const ids: string[] = [];

  before(async () => {
    server = await startNatsServer();
    cfg.nats = server.url;
    broker = await JetStreamBroker.connect({ servers: server.url });
    await ensureStreams(broker, cfg);
    // A worker whose comment formatter has a bug: every comment is dead-lettered at the format stage.
    const broken = loadDomain();
    const good = broken.handlers.get(CommentCreated.name)!;
    broken.handlers.set(CommentCreated.name, {
      ...good,
      format: () => {
        throw new EventInvalid("formatter bug: html is undefined");
      },
    });
    worker = await startWorker(broker, cfg, broken, log);
    const producer = new Producer({
      broker,
      registry: broken.registry,
      prefix: cfg.subjects.events,
      name: "test",
    });
    for (let i = 0; i < 3; i++) {
      const { event } = await producer.emit(CommentCreated.name, "thread:d1", {
        comment: { id: `d${i}`, threadId: "d1", author: "bo", text: `lost ${i}`, createdAt: 1 },
      });
      ids.push(event.id);
    }
    await waitFor(async () => (await broker.streamState(cfg.streams.deadLetters.name)).messages === 3, {
      timeoutMs: 30_000,
      what: "three dead letters",
    });
    await worker.stop();
    // The fix is deployed: a worker with the real formatter.
    worker = await startWorker(broker, cfg, loadDomain(), log);
  });

  after(async () => {
    await worker?.stop();
    await broker?.close();
    await server?.stop();
  });

  it("lists dead letters with where and why they failed", async () => {
    const list = await new DeadLetters(broker, cfg).list();
    assert.deepEqual(
      list.map((d) => d.eventId),
      ids,
    );
    for (const d of list) {
      assert.equal(d.stage, "format");
      assert.equal(d.code, "REALER_ERR_EVENT_INVALID");
      assert.match(d.reason, /formatter bug/);
      assert.equal(d.type, "comments_v1_CommentCreated");
      assert.ok(d.sourceSeq >= 1);
    }
    const table = await cli(["dlq", "list", "--nats", server.url]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /│ seq\s+│ time/);
    assert.match(table.stdout, new RegExp(`${ids[0]}.*format.*REALER_ERR_EVENT_INVALID`));
  });

  it("shows one dead letter with its decoded event", async () => {
    const [first] = await new DeadLetters(broker, cfg).list();
    const d = await new DeadLetters(broker, cfg).show(first!.seq, loadDomain().registry);
    assert.equal(d.event?.id, ids[0]);
    assert.equal(d.event?.key, "thread:d1");
    assert.deepEqual((d.event!.body as { comment: { text: string } }).comment.text, "lost 0");
    assert.equal(d.headers["Realer-Stage"], "format");
  });

  it("redrives a fixed event back through the pipeline to its channel, and removes its dead letter", async () => {
    const [first] = await new DeadLetters(broker, cfg).list();
    const r = await cli(["dlq", "redrive", String(first!.seq), "--nats", server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `redrove dead letter ${first!.seq} \\(event ${ids[0]}\\) to realer\\.events\\.p\\d+\\.comments\\.v1\\.CommentCreated`,
      ),
    );
    const msg = await waitFor(
      async () => {
        for await (const m of broker.read(cfg.streams.channels.name, { fromSeq: 1 }))
          return decodeChannelMessage(m.data);
        return undefined;
      },
      { timeoutMs: 30_000, what: "the redriven event on its channel" },
    );
    assert.equal(msg.channel, "thread:d1");
    assert.equal(msg.eventId, ids[0]);
    assert.match(msg.data, /"html":"lost 0"/);
    const left = await new DeadLetters(broker, cfg).list();
    assert.deepEqual(
      left.map((d) => d.eventId),
      ids.slice(1),
    );
  });

  it("refuses unknown sequences and bad usage with codes, and purges", async () => {
    const dl = new DeadLetters(broker, cfg);
    await assert.rejects(dl.show(9999), { code: "REALER_ERR_DLQ_NOT_FOUND" });
    await assert.rejects(dl.redrive({ seqs: [9999] }), { code: "REALER_ERR_DLQ_NOT_FOUND" });
    const missing = await cli(["dlq", "show", "9999", "--nats", server.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /realer: REALER_ERR_DLQ_NOT_FOUND: no dead letter at sequence 9999/);
    const noArgs = await cli(["dlq", "redrive", "--nats", server.url]);
    assert.equal(noArgs.code, 2);
    assert.match(noArgs.stderr, /redrive needs sequences, --type <type> or --all/);
    assert.equal(await dl.purge({ type: CommentCreated.name }), 2);
    assert.equal(await dl.count(), 0);
  });
});
