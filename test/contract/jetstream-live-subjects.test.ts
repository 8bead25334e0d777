/**
 * The live subjects of a stream that republishes what it stores, where only
 * a real nats-server can show it: a server restart is reported as a
 * disconnect and then a reconnect. (What both brokers do is in the contract
 * suite, broker.contract.ts.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
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
