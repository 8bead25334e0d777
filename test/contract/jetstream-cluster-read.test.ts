/**
 * Reads on a three-server cluster (stream at three replicas) return every
 * message of their range: right after it was stored, and while one of the
 * stream's servers is dead. A read through an ephemeral consumer alone did
 * neither: the consumer may sit on a follower that has not applied the
 * newest messages yet, or on the dead server, where its creation never
 * answers (src/broker/jetstream/stream-read.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker, natsConnectionOf } from "../../src/broker/jetstream/broker.js";
import { type NatsCluster, startNatsCluster } from "../helpers/nats-server.js";

const STREAM = "CLUSTER_READ";

describe("JetStream reads on a cluster", () => {
  let cluster: NatsCluster;
  let broker: JetStreamBroker;

  before(async () => {
    cluster = await startNatsCluster(3);
    broker = await JetStreamBroker.connect({ servers: cluster.urls.split(","), name: "cluster-read" });
    await broker.ensureStream({ name: STREAM, subjects: ["cr.>"], replicas: 3 });
  });
  after(async () => {
    await broker?.close();
    await cluster?.stop();
  });

  const read = async (fromSeq: number, toSeq: number, subject?: string) => {
    const out: number[] = [];
    for await (const m of broker.read(STREAM, { fromSeq, toSeq, ...(subject ? { subject } : {}) }))
      out.push(m.seq);
    return out;
  };

  it("returns the messages it was asked for right after they were stored", async () => {
    for (let i = 0; i < 100; i++) {
      const acks = await Promise.all(
        ["cr.a", "cr.b", "cr.a", "cr.b"].map((s) => broker.publish(s, new Uint8Array([i]))),
      );
      const seqs = acks.map((a) => a.seq).sort((x, y) => x - y);
      const first = seqs[0]!;
      const last = seqs[3]!;
      assert.deepEqual(await read(first, last), seqs, `read ${i}`);
      const ofA = acks
        .filter((_, k) => k % 2 === 0)
        .map((a) => a.seq)
        .sort((x, y) => x - y);
      assert.deepEqual(await read(first, last, "cr.a"), ofA, `filtered read ${i}`);
    }
  });

  it("returns every message while a server of the stream is dead, each read within a few seconds", async () => {
    const state = await broker.streamState(STREAM);
    // A follower the client is not connected to: a read must get by without it, and the publishes
    // of the test must not wait for the client to reconnect elsewhere.
    const connectedTo = natsConnectionOf(broker).info?.server_name;
    const follower = state.cluster!.followers.find((f) => f.name !== connectedTo)!.name;
    const node = cluster.nodes[Number(follower.slice(follower.lastIndexOf("-") + 1)) - 1]!;
    await node.kill();
    try {
      for (let i = 0; i < 12; i++) {
        const acks = [];
        for (const s of ["cr.c", "cr.d", "cr.c"]) acks.push(await broker.publish(s, new Uint8Array([i])));
        const started = Date.now();
        assert.deepEqual(await read(acks[0]!.seq, acks[2]!.seq, "cr.c"), [acks[0]!.seq, acks[2]!.seq]);
        // A consumer placed on the dead server is given up after 2 s; the leader answers the rest.
        assert.ok(Date.now() - started < 4_000, `read ${i} took ${Date.now() - started} ms`);
      }
    } finally {
      await node.restart();
    }
  });
});
