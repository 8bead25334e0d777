/**
 * deploy/haproxy/haproxy.cfg, unchanged, with Debian's HAProxy in front of two real
 * `realer edge` processes on a real nats-server: streams pass through frame by frame,
 * a draining edge leaves rotation (its /healthz answers 503) and its clients resume on
 * the other edge with their Last-Event-ID, missing nothing and seeing nothing twice.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream-broker.js";
import { defaultConfig } from "../../src/config/config.js";
import { type RunningHaproxy, startHaproxy } from "../helpers/haproxy.js";
import { getHealth } from "../helpers/health.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";
import { type ResumingSse, resumingSse } from "../helpers/resuming-sse.js";
import { sseConnect } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { open, publishTo, texts } from "./edge-fixture.js";

interface EdgeProcess {
  p: RealerProcess;
  url: string;
  port: number;
}

describe("HAProxy from deploy/ in front of two edges (real processes)", () => {
  let nats: NatsServer;
  let broker: JetStreamBroker;
  let lb: RunningHaproxy;
  const edges: EdgeProcess[] = [];
  const procs: RealerProcess[] = [];
  const cleanup: Array<() => unknown> = [];
  const cfg = defaultConfig();

  async function startEdge(port = 0): Promise<EdgeProcess> {
    // Behind a proxy every client has the proxy's address: the per-address limit is HAProxy's.
    // HAProxy notices a client that went away when it next writes to it: heartbeats each second.
    const p = spawnRealer(["edge", "--nats", nats.url, "--port", String(port)], {
      REALER_DRAIN_SPREAD_MS: "1000",
      REALER_HEARTBEAT_MS: "1000",
      REALER_MAX_CONNECTIONS_PER_ADDRESS: "0",
    });
    procs.push(p);
    const url = String((await p.waitForLog("edge listening", 60_000)).url);
    return { p, url, port: Number(new URL(url).port) };
  }
  const connections = async (e: EdgeProcess) =>
    (await getHealth(`${e.url}/healthz`)).body.connections as number;

  before(async () => {
    nats = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: nats.url, name: "deploy-haproxy-test" });
    edges.push(await startEdge(), await startEdge());
    lb = await startHaproxy({ edges: [edges[0]!.url, edges[1]!.url] });
    await lb.waitForServer("edge1", "UP");
    await lb.waitForServer("edge2", "UP");
  });
  after(async () => {
    for (const c of cleanup) await c();
    await lb?.stop();
    for (const p of procs) await p.stop("SIGKILL");
    await broker?.close();
    await nats?.stop();
  });

  it("passes an SSE stream through frame by frame: each message arrives while the stream stays open", async () => {
    const ch = `lb-live:${process.pid}`;
    const client = await sseConnect(`${lb.url}/v1/sse?channel=${ch}`);
    cleanup.push(() => client.close());
    assert.equal(client.status, 200);
    // One at a time: the next is published only once the last has come through, so a proxy that
    // held bytes back (until a buffer filled or the stream ended) would stall this loop.
    for (let i = 1; i <= 5; i++) {
      await publishTo(broker, cfg, ch, `live-${i}`);
      assert.deepEqual(texts(await client.waitForMessages(i, 5_000)).at(-1), `live-${i}`);
    }
    client.close();
  });

  it("limits open connections per client address (LB_MAX_CONN_PER_CLIENT) with a 429", async () => {
    const strict = await startHaproxy({ edges: [edges[0]!.url, edges[1]!.url], maxConnPerClient: 2 });
    try {
      const url = `${strict.url}/v1/sse?channel=lb-limit:${process.pid}`;
      const held = [await open(url), await open(url)];
      assert.deepEqual(
        held.map((h) => h.status),
        [200, 200],
      );
      const third = await open(url);
      assert.equal(third.status, 429);
      for (const h of [...held, third]) h.close();
    } finally {
      await strict.stop();
    }
  });

  it("takes a draining edge out of rotation; its clients resume on the other edge and miss nothing", async () => {
    const ch = `lb-drain:${process.pid}`;
    const [one, two] = edges as [EdgeProcess, EdgeProcess];
    const clients: ResumingSse[] = [];
    for (let i = 0; i < 20; i++)
      clients.push(resumingSse(`${lb.url}/v1/sse?channel=${ch}`, { retryMs: 200 }));
    cleanup.push(() => {
      for (const c of clients) c.close();
    });
    for (const c of clients) await c.waitForStreams(1);
    // The earlier tests' streams are closed: wait for the edges to see them go.
    await waitFor(async () => (await connections(one)) + (await connections(two)) === clients.length, {
      what: "the edges to hold these clients' streams only",
    });
    const onOne = await connections(one);
    assert.ok(onOne > 0 && (await connections(two)) > 0, "HAProxy spread the streams over both edges");

    // A client of edge one that stops reading: the edge waits for it (up to its close grace),
    // so the drain lasts long enough for the health checks to see its 503.
    const lingering = await lingeringClient(one.port, ch);
    cleanup.push(() => lingering.destroy());

    const published: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        await publishTo(broker, cfg, ch, `m-${i}`);
        published.push(`m-${i}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for (const c of clients) await c.waitForMessages(5);

    one.p.proc.kill("SIGTERM");
    const down = await lb.waitForServer("edge1", "DOWN");
    assert.equal(one.p.proc.exitCode, null, "edge one left rotation while it was still draining");
    assert.match(down.check, /^L7STS/, "on its /healthz status (503), not on a refused connection");
    assert.equal(await one.p.exited, 0, "edge one exits cleanly after draining");
    await waitFor(async () => (await connections(two)) === clients.length, {
      timeoutMs: 20_000,
      what: "every client on edge two",
    });
    const mark = published.length;
    await waitFor(() => clients.every((c) => c.messages().length >= mark + 5), {
      timeoutMs: 20_000,
      what: "messages published after the drain",
    });
    publishing = false;
    await publisher;
    for (const c of clients) await c.waitForMessages(published.length);

    assert.equal(
      clients.reduce((n, c) => n + c.drains, 0),
      onOne,
      "every client of edge one was drained with its cursor",
    );
    assert.equal(
      clients.reduce((n, c) => n + c.refusals, 0),
      0,
      "no client saw a refusal: HAProxy sent reconnects that reached the draining edge to the other one",
    );
    for (const c of clients) assert.deepEqual(texts(c.messages()), published, "everything once, in order");

    // Back on its port, edge one rejoins rotation and takes new streams (it holds the fewest).
    const again = await startEdge(one.port);
    edges[0] = again;
    await lb.waitForServer("edge1", "UP");
    const late = resumingSse(`${lb.url}/v1/sse?channel=${ch}`);
    cleanup.push(() => late.close());
    await late.waitForStreams(1);
    assert.equal(await connections(again), 1, "a new stream goes to the edge that came back");
    await publishTo(broker, cfg, ch, "after");
    assert.deepEqual(texts(await late.waitForMessages(1)), ["after"]);
  });
});

/** An SSE client straight to an edge that reads the response head, then nothing more. */
async function lingeringClient(port: number, channel: string): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  socket.setEncoding("utf8");
  let head = "";
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.on("data", (chunk: string) => {
      head += chunk;
      if (head.includes("\r\n\r\n")) {
        socket.removeAllListeners("data");
        socket.pause();
        resolve();
      }
    });
    socket.write(
      `GET /v1/sse?channel=${channel} HTTP/1.1\r\nHost: edge\r\nAccept: text/event-stream\r\n\r\n`,
    );
  });
  assert.match(head, /^HTTP\/1\.1 200/);
  socket.on("error", () => {});
  return socket;
}
