/**
 * Two worker processes share the partitions' durable consumers; one is killed
 * with SIGKILL in the middle of a 10,000-event run. Its unsettled claims run
 * out and the other worker redelivers them: every event reaches its channel
 * exactly once, and each channel's messages are stored in the order of its
 * events (a partition hands out its next event only once the previous one is
 * settled, whichever worker held it).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeEvent } from "../../src/events/envelope.js";
import { waitFor } from "../helpers/wait.js";
import {
  comment,
  consumerCounts,
  type JsFixture,
  publishEvents,
  readChannels,
  spawnWorker,
  startJs,
  tally,
  type WorkerProcess,
} from "./worker-helpers.js";

const EVENTS = 10_000;
const THREADS = 40;
const PARTITIONS = 16;

// JetStream only: worker processes share the durable consumer only through nats-server.
describe("two worker processes, one killed mid-run", () => {
  let fx: JsFixture;
  const workers: WorkerProcess[] = [];
  before(async () => {
    fx = await startJs((c) => {
      c.subjects.eventPartitions = PARTITIONS;
    });
  });
  after(async () => {
    for (const w of workers) w.proc.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await fx?.close();
  });

  it("delivers every event to its channel exactly once when a worker is SIGKILLed", {
    timeout: 120_000,
  }, async (t) => {
    const { broker, cfg, server } = fx;
    const events = Array.from({ length: EVENTS }, (_, i) => comment(`t${i % THREADS}`, `comment ${i}`));
    await publishEvents(broker, cfg, events);
    // One claim per partition (16), and each worker pulls on every partition.
    const env = {
      REALER_WORKER_ACK_WAIT_MS: "2000",
      REALER_EVENT_PARTITIONS: String(PARTITIONS),
    };
    const doomed = spawnWorker(server.url, env);
    const survivor = spawnWorker(server.url, env);
    workers.push(doomed, survivor);

    // Kill one worker once a fifth of the run is stored, while claims are outstanding.
    await waitFor(
      async () =>
        (await broker.streamState(cfg.streams.channels.name)).messages >= EVENTS / 5 &&
        (await consumerCounts(broker, cfg)).ackPending >= 2,
      { timeoutMs: 60_000, intervalMs: 50, what: "a fifth of the channel messages, with claims outstanding" },
    );
    doomed.proc.kill("SIGKILL");
    const killed = await doomed.exited;
    assert.equal(killed.signal, "SIGKILL");
    // The dead worker's claims stay outstanding until their ack wait runs out.
    // The dead worker's claims block their partitions (so nothing of theirs passes them) until
    // they run out and the survivor gets them again.
    const atKill = await consumerCounts(broker, cfg);
    t.diagnostic(`claims outstanding right after the kill: ${atKill.ackPending}`);
    assert.ok(atKill.ackPending > 0, `claims outstanding after the kill (${atKill.ackPending})`);

    // Everything settled: nothing left to deliver and no claim outstanding.
    await waitFor(
      async () => {
        const c = await consumerCounts(broker, cfg);
        return c.pending === 0 && c.ackPending === 0 ? c : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: "every event settled" },
    );

    const records = await readChannels(broker, cfg);
    const { perChannel, duplicates } = tally(records);
    assert.deepEqual(duplicates, [], "no channel message is stored twice");
    assert.equal(records.length, EVENTS);
    assert.equal(perChannel.size, THREADS);
    for (const [channel, n] of perChannel)
      assert.equal(n, EVENTS / THREADS, `${channel} has every event once`);
    // In order: each channel's messages are stored in the order of its events on the events stream.
    const order = new Map<string, number>();
    for await (const m of broker.read(cfg.streams.events.name, { fromSeq: 1 }))
      order.set(decodeEvent(m.data).id, m.seq);
    const lastOf = new Map<string, number>();
    let outOfOrder = 0;
    for (const r of records) {
      const i = order.get(r.eventId) ?? -1;
      if (i < (lastOf.get(r.channel) ?? -1)) outOfOrder++;
      lastOf.set(r.channel, Math.max(i, lastOf.get(r.channel) ?? -1));
    }
    assert.equal(outOfOrder, 0, "every channel's messages in the order of its events");
    const expected = new Set(events.map((e) => e.id));
    for (const r of records) assert.ok(expected.has(r.eventId), `${r.eventId} is one of the events`);
    assert.equal(
      (await broker.streamState(cfg.streams.deadLetters.name)).messages,
      0,
      "nothing was dead-lettered",
    );

    survivor.proc.kill("SIGTERM");
    assert.deepEqual(await survivor.exited, { code: 0, signal: null }, survivor.output());
  });
});
