/**
 * The live subjects of a stream that republishes what it stores, on a real
 * nats-server (what the edge's channel feed relies on): each subscription
 * gets only its subject, every message names its subject's previous
 * sequence, messages of several subjects arrive in stream order, and a
 * server restart is reported as a disconnect and then a reconnect.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream-broker.js";
import type { LiveLoss } from "../../src/broker/types.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { waitFor } from "../helpers/wait.js";

describe("live subjects (JetStream RePublish)", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let n = 0;
  before(async () => {
    server = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: server.url, name: "live-subjects-test" });
  });
  after(async () => {
    await broker?.close();
    await server?.stop();
  });

  async function stream(republish = true) {
    n++;
    const name = `LS${n}`;
    await broker.ensureStream({
      name,
      subjects: [`ls${n}.>`],
      ...(republish ? { republish: `lslive${n}` } : {}),
    });
    return { name, subject: (s: string) => `ls${n}.${s}` };
  }

  it("is there only for a stream that republishes all it stores", async () => {
    assert.ok(await broker.liveSubjects((await stream()).name));
    assert.equal(await broker.liveSubjects((await stream(false)).name), undefined);
  });

  it("hands each subscription its subject's messages, with the subject's previous sequence, in stream order", async () => {
    const s = await stream();
    const src = (await broker.liveSubjects(s.name))!;
    const got: [string, number, number][] = [];
    const offA = src.subscribe(s.subject("a"), (m, prev) => got.push(["a", m.seq, prev]));
    const offB = src.subscribe(s.subject("b"), (m, prev) => got.push(["b", m.seq, prev]));
    await src.flush();
    for (const x of ["a", "b", "c", "b", "a", "a"]) await broker.publish(s.subject(x), new Uint8Array([1]));
    await waitFor(() => got.length === 5, { what: "five live messages" });
    assert.deepEqual(got, [
      ["a", 1, 0],
      ["b", 2, 0],
      ["b", 4, 2],
      ["a", 5, 1],
      ["a", 6, 5],
    ]);
    assert.equal(await src.lastSeq(), 6);
    const read: number[] = [];
    for await (const m of src.read(2, 6, s.subject("b"))) read.push(m.seq);
    assert.deepEqual(read, [2, 4]);
    offA();
    offB();
  });

  it("reports a server restart as a disconnect, then a reconnect, and delivers again after it", async () => {
    const s = await stream();
    const src = (await broker.liveSubjects(s.name))!;
    const losses: LiveLoss[] = [];
    const stop = src.onLoss((why) => losses.push(why));
    const got: number[] = [];
    const off = src.subscribe(s.subject("a"), (m) => got.push(m.seq));
    await src.flush();
    await server.restart();
    await waitFor(() => losses.includes("reconnect"), { timeoutMs: 30_000, what: "the reconnect" });
    assert.deepEqual(losses.slice(0, 2), ["disconnect", "reconnect"]);
    const { seq } = await broker.publish(s.subject("a"), new Uint8Array([1]));
    await waitFor(() => got.includes(seq), { what: "a live message after the reconnect" });
    stop();
    off();
  });
});
