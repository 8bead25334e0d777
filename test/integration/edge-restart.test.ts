/**
 * Across an edge restart on a real nats-server: SIGTERM drains the edge
 * (each client gets its cursor and a jittered reconnect delay, then the
 * process exits 0), and a fresh edge process, whose ring is empty, resumes
 * the client from JetStream with nothing missed and nothing twice.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { defaultConfig } from "../../src/config/config.js";
import { assertHealthAcrossOutage, getHealth } from "../helpers/health.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";
import { sseConnect } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { publishTo, seqOf, texts } from "./edge-fixture.js";

// JetStream only: separate edge processes share a broker only through nats-server, and it kills and restarts that server.
describe("edge restart (real nats-server, real processes)", () => {
  let nats: NatsServer;
  let broker: JetStreamBroker;
  const procs: RealerProcess[] = [];
  const cfg = defaultConfig();
  before(async () => {
    nats = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: nats.url, name: "edge-restart-test" });
  });
  after(async () => {
    for (const p of procs) await p.stop("SIGKILL");
    await broker?.close();
    await nats?.stop();
  });

  async function edgeProcess(): Promise<{ p: RealerProcess; url: string }> {
    const p = spawnRealer(["edge", "--nats", nats.url, "--port", "0"], { REALER_DRAIN_SPREAD_MS: "300" });
    procs.push(p);
    const line = await p.waitForLog("edge listening", 60_000);
    return { p, url: String(line.url) };
  }

  it("drains on SIGTERM with each client's cursor, then a new edge resumes it from JetStream", async () => {
    const ch = `restart:${process.pid}`;
    const one = await edgeProcess();
    const client = await sseConnect(`${one.url}/v1/sse?channel=${ch}`);
    for (let i = 0; i < 3; i++) await publishTo(broker, cfg, ch, `before-${i}`);
    const seen = await client.waitForMessages(3, 20_000);
    const lastSeen = seen.at(-1)!.id!;

    assert.equal(await one.p.stop("SIGTERM"), 0, "the edge exits cleanly after draining");
    await client.ended;
    const drain = client.frames.find((f) => f.event === "drain");
    assert.ok(drain, "a drain frame before the end");
    assert.ok(
      drain.id && seqOf(drain.id) >= seqOf(lastSeen),
      `the drain id ${drain.id} is the client's cursor`,
    );
    assert.ok(
      drain.retry !== undefined && drain.retry >= 500 && drain.retry <= 800,
      `jittered retry ${drain.retry}`,
    );
    assert.deepEqual(JSON.parse(drain.data), { cursor: drain.id, retry_ms: drain.retry });

    for (let i = 0; i < 4; i++) await publishTo(broker, cfg, ch, `missed-${i}`);
    await publishTo(broker, cfg, `other:${process.pid}`, "not for this client");
    const two = await edgeProcess();
    const again = await sseConnect(`${two.url}/v1/sse?channel=${ch}`, { "last-event-id": drain.id! });
    try {
      assert.deepEqual(texts(await again.waitForMessages(4, 20_000)), [
        "missed-0",
        "missed-1",
        "missed-2",
        "missed-3",
      ]);
      await publishTo(broker, cfg, ch, "live");
      const all = await again.waitForMessages(5, 20_000);
      assert.deepEqual(texts(all).at(-1), "live");
      assert.equal(all.length, 5, "nothing twice");
      assert.equal(
        all[0]!.id!.split("-")[0],
        drain.id!.split("-")[0],
        "both edges name the stream with one epoch",
      );
      const metrics = await (await fetch(`${two.url}/metrics`)).text();
      assert.match(metrics, /realer_edge_resumes_total\{outcome="stream"\} 1/);
    } finally {
      again.close();
    }
    await waitFor(
      async () =>
        ((await fetch(`${two.url}/healthz`).then((r) => r.json())) as { connections: number }).connections ===
        0,
      {
        what: "the second edge to see the client leave",
      },
    );
  });
  it("answers /healthz with 503 while its NATS connection is down, and 200 once it is back", async () => {
    const edge = await edgeProcess();
    assert.equal((await getHealth(`${edge.url}/healthz`)).status, 200);
    await assertHealthAcrossOutage(`${edge.url}/healthz`, nats);
  });

  it("a client misses nothing stored while the edge's NATS connection was down", async () => {
    const ch = `natsdown:${process.pid}`;
    const edge = await edgeProcess();
    const client = await sseConnect(`${edge.url}/v1/sse?channel=${ch}`);
    try {
      for (let i = 0; i < 2; i++) await publishTo(broker, cfg, ch, `up-${i}`);
      await client.waitForMessages(2, 20_000);
      await nats.restart();
      // A fresh connection publishes at once, while the edge is still reconnecting
      // (the client waits 2 s between attempts): the edge cannot get these live.
      const writer = await JetStreamBroker.connect({ servers: nats.url, name: "edge-restart-writer" });
      try {
        for (let i = 0; i < 3; i++) await publishTo(writer, cfg, ch, `down-${i}`);
      } finally {
        await writer.close();
      }
      const all = await client.waitForMessages(5, 20_000);
      assert.deepEqual(texts(all), ["up-0", "up-1", "down-0", "down-1", "down-2"]);
      const seqs = all.map((m) => seqOf(m.id!));
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        "in stream order",
      );
    } finally {
      client.close();
    }
  });
});
