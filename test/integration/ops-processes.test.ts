import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { createProducer, ensureStreams, loadDomain } from "../../src/cli/components.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { workerConsumerState } from "../../src/ops/worker-consumers.js";
import { assertHealthAcrossOutage, getHealth, waitForHealth } from "../helpers/health.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { testConfig } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";
import { cli } from "./ops-cli.js";

const TOKEN = "ops-token";

/** Starts a realer process and resolves with the URL it logs under `msg`. */
function startProcess(args: string[], msg: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    env: { ...process.env, REALER_LOG_LEVEL: "info", REALER_ADMIN_TOKEN: TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      out += d;
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        const l = JSON.parse(line) as { msg?: string; url?: string };
        if (l.msg === msg && l.url) resolve({ proc, url: l.url });
      }
    });
    proc.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}: ${out}`)));
  });
}

function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once("exit", () => resolve());
    p.kill("SIGTERM");
  });
}

describe("operator commands against running processes", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let worker: { proc: ChildProcess; url: string };
  let edge: { proc: ChildProcess; url: string };
  const cfg = testConfig();

  before(async () => {
    server = await startNatsServer();
    cfg.nats = server.url;
    broker = await JetStreamBroker.connect({ servers: server.url });
    await ensureStreams(broker, cfg);
    [worker, edge] = await Promise.all([
      startProcess(["worker", "--nats", server.url, "--metrics-port", "0"], "metrics listening"),
      startProcess(["edge", "--nats", server.url, "--port", "0"], "edge listening"),
    ]);
    const producer = createProducer(broker, cfg, loadDomain(), "test");
    for (let i = 0; i < 8; i++) {
      await producer.emit(CommentCreated.name, "thread:p1", {
        comment: { id: `p${i}`, threadId: "p1", author: "ed", text: `p ${i}`, createdAt: i },
      });
    }
    await waitFor(
      async () => {
        const c = (await workerConsumerState(broker, cfg))!;
        return (
          c.pending === 0 &&
          c.ackPending === 0 &&
          (await broker.streamState(cfg.streams.channels.name)).lastSeq === 8
        );
      },
      { timeoutMs: 30_000, what: "the worker process to handle every event" },
    );
    // The edge has no client, so it subscribes to no channel: it brings its position up to the
    // stream's end after a quiet period (channel-feed.ts).
    await waitFor(async () => (await getHealth(new URL("/healthz", edge.url).href)).body.position === 8, {
      timeoutMs: 10_000,
      what: "the edge's position to reach the stream's end",
    });
  });

  after(async () => {
    await Promise.all([stop(worker?.proc), stop(edge?.proc)]);
    await broker?.close();
    await server?.stop();
  });

  it("serves /metrics from the worker's own listener and from the edge", async () => {
    const w = await (await fetch(worker.url)).text();
    assert.match(w, /realer_stage_in_total\{stage="publish"\} 8/);
    assert.match(w, /realer_events_settled_total\{outcome="acked"\} 8/);
    const e = await (await fetch(new URL("/metrics", edge.url))).text();
    assert.match(e, /realer_edge_stream_position 8/);
  });

  it("inspects streams, consumers and edges as tables and as JSON", async () => {
    const t = await cli(["inspect", "--nats", server.url, "--edge", edge.url], { REALER_ADMIN_TOKEN: TOKEN });
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /│ REALER_EVENTS\s+│ 8\s+│ \d+\s+│ 1\s+│ 8\s+│/);
    assert.match(t.stdout, /│ REALER_EVENTS\s+│ realer-worker \(64 partitions\)\s+│ 0\s+│ 0\s+│ 0\s+│ 8\s+│/);
    assert.match(t.stdout, /│ http:\/\/127\.0\.0\.1:\d+\s+│ yes\s+│ 0\s+│ 0\s+│ 8\s+│/);
    const j = await cli(["inspect", "--nats", server.url, "--json", "--stream", "REALER_CHANNELS"]);
    const parsed = JSON.parse(j.stdout) as { streams: { name: string; messages: number }[] };
    assert.deepEqual(
      parsed.streams.map((s) => [s.name, s.messages]),
      [["REALER_CHANNELS", 8]],
    );
  });

  it("audits the running processes and balances on a quiet system", async () => {
    const r = await cli([
      "audit",
      "--nats",
      server.url,
      "--metrics",
      `${worker.url},${new URL("/metrics", edge.url)}`,
      "--window",
      "300ms",
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /balanced: every \+1 has its -1/);
  });

  it("gives coded errors for an unknown stream and an unreachable metrics URL", async () => {
    const s = await cli(["inspect", "--nats", server.url, "--stream", "NO_SUCH"]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /realer: REALER_ERR_STREAM_NOT_FOUND: stream NO_SUCH does not exist/);
    const m = await cli([
      "audit",
      "--nats",
      server.url,
      "--metrics",
      "http://127.0.0.1:9/metrics",
      "--window",
      "10ms",
    ]);
    assert.equal(m.code, 1);
    assert.match(
      m.stderr,
      /realer: REALER_ERR_METRICS_UNAVAILABLE: could not read metrics from http:\/\/127\.0\.0\.1:9\/metrics/,
    );
    const w = await cli(["audit", "--nats", server.url, "--window", "soon"]);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /--window soon: expected a duration/);
  });

  // Last: it takes nats-server away.
  it("the worker answers /healthz on its metrics port: 200 while it claims events, 503 while NATS is down", async () => {
    const healthz = worker.url.replace(/\/metrics$/, "/healthz");
    // Polled: a loaded machine may answer the first request late or cut it off.
    const up = await waitForHealth(healthz, 200);
    assert.equal(up.status, 200);
    assert.equal(up.body.ok, true);
    assert.equal(up.body.state, "running");
    assert.equal(up.body.acked, 8, "the events it settled");
    await assertHealthAcrossOutage(healthz, server);
  });
});
