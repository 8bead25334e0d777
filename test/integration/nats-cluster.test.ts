/**
 * realer on a three-server JetStream cluster, as production runs it: with
 * REALER_STREAM_REPLICAS=3 every stream has a copy on each server, and when
 * the server leading the channel stream dies (SIGKILL), a process starting
 * during the election waits it out, and events keep flowing
 * from producer through worker and edge to an SSE client, which misses
 * nothing and sees nothing twice. A single server refuses replicas with a
 * configuration error that says so.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import type { StreamState } from "../../src/broker/types.js";
import { ensureStreams } from "../../src/cli/components.js";
import { connectProducer } from "../../src/cli/wiring.js";
import { configFromEnv, defaultConfig } from "../../src/config/config.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { codeOf } from "../../src/errors.js";
import type { Producer } from "../../src/producer/producer.js";
import { type NatsCluster, startNatsCluster, startNatsServer } from "../helpers/nats-server.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";
import { sseConnect } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { seqOf } from "./edge-fixture.js";
import { cli } from "./ops-cli.js";

const REPLICATED = { REALER_STREAM_REPLICAS: "3" };
/** The rendered comment each frame carries. */
const htmls = (frames: { data: string }[]) =>
  frames.map((f) => (JSON.parse(f.data) as { data: { html: string } }).data.html);

describe("NATS cluster (three real nats-servers, real processes)", () => {
  let cluster: NatsCluster;
  let admin: NatsConnection;
  let broker: JetStreamBroker;
  let producer: Producer;
  let edgeUrl: string;
  const procs: RealerProcess[] = [];
  const cfg = defaultConfig();
  /** The server the second test kills. */
  let victim = -1;

  before(async () => {
    cluster = await startNatsCluster(3);
    const worker = spawnRealer(["worker", "--nats", cluster.urls], REPLICATED);
    procs.push(worker);
    await worker.waitForLog("worker running", 60_000);
    const edge = spawnRealer(["edge", "--nats", cluster.urls, "--port", "0"], REPLICATED);
    procs.push(edge);
    edgeUrl = String((await edge.waitForLog("edge listening", 60_000)).url);
    admin = await connect({ servers: cluster.urls.split(","), name: "cluster-test-admin" });
    broker = await JetStreamBroker.connect({ servers: cluster.urls.split(","), name: "cluster-test-broker" });
    producer = await connectProducer({ servers: cluster.urls.split(","), name: "cluster-test-producer" });
  });
  after(async () => {
    for (const p of procs) await p.stop("SIGKILL");
    await producer?.close();
    await admin?.close();
    await broker?.close();
    await cluster?.stop();
  });

  const comment = (thread: string, text: string) =>
    producer.emit(CommentCreated, `thread:${thread}`, {
      comment: { id: randomUUID(), threadId: thread, author: "ann", text, createdAt: Date.now() },
    });

  it("creates every stream with a copy on each server", async () => {
    const jsm = await jetstreamManager(admin);
    for (const name of [cfg.streams.events.name, cfg.streams.channels.name, cfg.streams.deadLetters.name]) {
      const info = await jsm.streams.info(name);
      assert.equal(info.config.num_replicas, 3, `${name} replicas`);
      assert.ok(info.cluster?.leader, `${name} has a leader`);
      assert.equal(info.cluster?.replicas?.length, 2, `${name} has two followers`);
    }
    // What an operator sees.
    const r = await cli(["inspect", "--nats", cluster.urls, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const { streams } = JSON.parse(r.stdout) as { streams: StreamState[] };
    const events = streams.find((s) => s.name === cfg.streams.events.name)!;
    assert.equal(events.replicas, 3);
    assert.match(events.cluster!.leader, /^realer-test-\d+-[123]$/);
    assert.deepEqual(
      events.cluster!.followers.map((f) => f.current && !f.offline),
      [true, true],
    );
    const t = await cli(["inspect", "--nats", cluster.urls, "--stream", cfg.streams.channels.name]);
    assert.match(t.stdout, /│ REALER_CHANNELS .*│ 3 \(leader realer-test-\d+-[123]\)\s+│/);
  });

  it("keeps delivering, each message once and in order, after the channel stream's leader dies", async () => {
    const thread = randomUUID().slice(0, 8);
    const client = await sseConnect(`${edgeUrl}/v1/sse?channel=thread:${thread}`);
    try {
      for (let i = 0; i < 3; i++) await comment(thread, `before-${i}`);
      await client.waitForMessages(3, 30_000);

      const jsm = await jetstreamManager(admin);
      const leader = (await jsm.streams.info(cfg.streams.channels.name)).cluster!.leader!;
      victim = cluster.nodes.findIndex((_, i) => leader.endsWith(`-${i + 1}`));
      assert.ok(victim >= 0, `the leader ${leader} is one of ours`);
      await cluster.nodes[victim]!.kill();
      // What every realer process does at start, now, while the election is still on: it waits
      // the election out rather than failing on the dead leader's silence.
      await ensureStreams(broker, configFromEnv({ ...REPLICATED, REALER_NATS_URL: cluster.urls }));
      // A new leader among the two left: the stream answers again.
      await waitFor(
        async () => {
          const info = await jsm.streams.info(cfg.streams.channels.name);
          return info.cluster?.leader && info.cluster.leader !== leader;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: "a new channel stream leader" },
      );

      // The new leader reports the dead server as not keeping up.
      await waitFor(
        async () => {
          const r = await cli(["inspect", "--nats", cluster.urls, "--stream", cfg.streams.channels.name]);
          return new RegExp(`${leader} (offline|behind)`).test(r.stdout);
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `inspect showing ${leader} offline` },
      );

      for (let i = 0; i < 3; i++) await comment(thread, `after-${i}`);
      const all = await client.waitForMessages(6, 60_000);
      const texts = htmls(all);
      assert.deepEqual(texts, ["before-0", "before-1", "before-2", "after-0", "after-1", "after-2"]);
      const seqs = all.map((m) => seqOf(m.id));
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        "in stream order",
      );
      assert.equal(new Set(seqs).size, seqs.length, "no duplicates");
      assert.equal(
        client.frames.filter((f) => f.event === "reset").length,
        0,
        "no reset: nothing was lost with the server",
      );
    } finally {
      client.close();
    }
  });

  it("an edge whose server dies reconnects to another and misses nothing", async () => {
    assert.ok(victim >= 0, "runs after the leader test");
    // The server killed above comes back and catches up: three again, so one more may go.
    await cluster.nodes[victim]!.restart();
    const jsm = await jetstreamManager(admin);
    await waitFor(
      async () => {
        for (const name of [cfg.streams.events.name, cfg.streams.channels.name]) {
          const c = (await jsm.streams.info(name)).cluster;
          if (c?.replicas?.length !== 2 || !c.replicas.every((r) => r.current && !r.offline)) return false;
        }
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "every stream on three current servers" },
    );
    const leader = (await jsm.streams.info(cfg.streams.channels.name)).cluster!.leader!;
    const k = cluster.nodes.findIndex((_, i) => !leader.endsWith(`-${i + 1}`));
    // This edge knows one server; it learns the others from the cluster.
    const edge = spawnRealer(["edge", "--nats", cluster.nodes[k]!.url, "--port", "0"], REPLICATED);
    procs.push(edge);
    const url = String((await edge.waitForLog("edge listening", 60_000)).url);
    const thread = randomUUID().slice(0, 8);
    const client = await sseConnect(`${url}/v1/sse?channel=thread:${thread}`);
    try {
      for (let i = 0; i < 2; i++) await comment(thread, `up-${i}`);
      await client.waitForMessages(2, 30_000);
      await cluster.nodes[k]!.kill();
      for (let i = 0; i < 3; i++) await comment(thread, `moved-${i}`);
      const all = await client.waitForMessages(5, 60_000);
      const texts = htmls(all);
      assert.deepEqual(texts, ["up-0", "up-1", "moved-0", "moved-1", "moved-2"]);
      const seqs = all.map((m) => seqOf(m.id));
      assert.equal(new Set(seqs).size, seqs.length, "no duplicates");
      assert.equal(client.frames.filter((f) => f.event === "reset").length, 0, "no reset");
    } finally {
      client.close();
    }
  });
});

describe("stream replicas on a single server", () => {
  let nats: Awaited<ReturnType<typeof startNatsServer>>;
  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    await nats?.stop();
  });

  it("are refused with REALER_ERR_CONFIG_INVALID naming the setting", async () => {
    const broker = await JetStreamBroker.connect({ servers: nats.url, name: "replicas-test" });
    try {
      const c = configFromEnv({ REALER_STREAM_REPLICAS: "3" });
      await assert.rejects(broker.ensureStream(c.streams.events), (err: Error) => {
        assert.equal(codeOf(err), "REALER_ERR_CONFIG_INVALID");
        assert.match(err.message, /REALER_EVENTS with 3 replicas/);
        assert.match(err.message, /REALER_STREAM_REPLICAS/);
        return true;
      });
    } finally {
      await broker.close();
    }
  });

  it("a worker started with them exits non-zero with that message", async () => {
    const worker = spawnRealer(["worker", "--nats", nats.url], REPLICATED);
    assert.notEqual(await worker.exited, 0);
    assert.match(worker.stderr(), /REALER_ERR_CONFIG_INVALID: .*3 replicas/);
  });

  it("the setting itself is checked", () => {
    for (const bad of ["0", "6", "two"]) {
      assert.throws(
        () => configFromEnv({ REALER_STREAM_REPLICAS: bad }),
        (err: Error) =>
          codeOf(err) === "REALER_ERR_CONFIG_INVALID" && /REALER_STREAM_REPLICAS/.test(err.message),
        bad,
      );
    }
    assert.equal(configFromEnv({}).streams.channels.replicas, undefined, "one copy unless asked");
    assert.equal(configFromEnv({ REALER_STREAM_REPLICAS: "3" }).streams.deadLetters.replicas, 3);
  });
});
