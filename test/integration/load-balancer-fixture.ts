/**
 * For the tests of deploy/'s load balancers: real `realer edge` processes, and the drain
 * scenario both run — clients through the balancer, messages published all along, one edge
 * sent SIGTERM: its clients must resume on the other edge with nothing missed, nothing twice,
 * and without ever being refused.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { defaultConfig, type RealerConfig } from "../../src/config/config.js";
import { getHealth } from "../helpers/health.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";
import { type ResumingSse, resumingSse } from "../helpers/resuming-sse.js";
import { sseConnect } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { publishTo, texts } from "./edge-fixture.js";

export interface EdgeProcess {
  p: RealerProcess;
  url: string;
  port: number;
}

/** `realer edge` on `natsUrl` (port 0: a free one), configured as deploy/ runs it behind a balancer. */
export async function startEdgeProcess(natsUrl: string, port = 0): Promise<EdgeProcess> {
  // Behind a proxy every client has the proxy's address: the per-address limit is the proxy's.
  // A proxy notices a client that went away when it next writes to it: heartbeats each second.
  const p = spawnRealer(["edge", "--nats", natsUrl, "--port", String(port)], {
    REALER_DRAIN_SPREAD_MS: "1000",
    REALER_HEARTBEAT_MS: "1000",
    REALER_MAX_CONNECTIONS_PER_ADDRESS: "0",
  });
  const url = String((await p.waitForLog("edge listening", 60_000)).url);
  return { p, url, port: Number(new URL(url).port) };
}

/** The SSE connections an edge holds, from its /healthz. */
export const connections = async (e: EdgeProcess): Promise<number> =>
  (await getHealth(`${e.url}/healthz`)).body.connections as number;

export interface Balanced<L> {
  nats: NatsServer;
  broker: JetStreamBroker;
  cfg: RealerConfig;
  /** The two edges behind the balancer; a test that replaces one puts the new one here. */
  edges: EdgeProcess[];
  lb: L;
  /** Registers what the suite's `after` closes. */
  cleanup(fn: () => unknown): void;
}

/**
 * Registers, in the calling `describe`, hooks that start a nats-server, two edges and the
 * balancer `start` makes in front of them, and stop them all after. The returned object is
 * filled in by the `before` hook.
 */
export function balancedEdges<L extends { url: string; stop(): Promise<void> }>(
  start: (edges: readonly [EdgeProcess, EdgeProcess]) => Promise<L>,
): Balanced<L> {
  const cleanups: Array<() => unknown> = [];
  const t = {
    cfg: defaultConfig(),
    edges: [] as EdgeProcess[],
    cleanup: (fn: () => unknown) => void cleanups.push(fn),
  } as Balanced<L>;
  before(async () => {
    t.nats = await startNatsServer();
    t.broker = await JetStreamBroker.connect({ servers: t.nats.url, name: "balanced-edges-test" });
    t.edges.push(await startEdgeProcess(t.nats.url), await startEdgeProcess(t.nats.url));
    t.lb = await start([t.edges[0]!, t.edges[1]!]);
  });
  after(async () => {
    for (const c of cleanups) await c();
    await t.lb?.stop();
    for (const e of t.edges) await e.p.stop("SIGKILL");
    await t.broker?.close();
    await t.nats?.stop();
  });
  return t;
}

/**
 * One message at a time through the balancer: the next is published only once the last has come
 * through, so a proxy that held bytes back (until a buffer filled or the stream ended) stalls it.
 */
export async function assertUnbuffered(t: Balanced<{ url: string }>, channel: string): Promise<void> {
  const client = await sseConnect(`${t.lb.url}/v1/sse?channel=${channel}`);
  t.cleanup(() => client.close());
  assert.equal(client.status, 200);
  for (let i = 1; i <= 5; i++) {
    await publishTo(t.broker, t.cfg, channel, `live-${i}`);
    assert.deepEqual(texts(await client.waitForMessages(i, 5_000)).at(-1), `live-${i}`);
  }
  client.close();
}

/**
 * 20 clients through the balancer, messages published all along; edge one (t.edges[0]) is sent
 * SIGTERM, `whileDraining` runs, and every client must end up on edge two with every message once.
 */
export async function drainBehindBalancer(
  t: Balanced<{ url: string }>,
  channel: string,
  whileDraining?: () => Promise<void>,
): Promise<void> {
  const [one, two] = t.edges as [EdgeProcess, EdgeProcess];
  const { broker, cfg } = t;
  const clients: ResumingSse[] = [];
  for (let i = 0; i < 20; i++)
    clients.push(resumingSse(`${t.lb.url}/v1/sse?channel=${channel}`, { retryMs: 200 }));
  t.cleanup(() => {
    for (const c of clients) c.close();
  });
  for (const c of clients) await c.waitForStreams(1);
  // Streams closed by earlier tests: wait for the edges to see them go.
  await waitFor(async () => (await connections(one)) + (await connections(two)) === clients.length, {
    what: "the edges to hold these clients' streams only",
  });
  const onOne = await connections(one);
  assert.ok(onOne > 0 && (await connections(two)) > 0, "the balancer spread the streams over both edges");

  // A client of edge one that stops reading: the edge waits for it (up to its close grace), so
  // the drain lasts long enough for the balancer to meet its 503s.
  const lingering = await lingeringClient(one.port, channel);
  t.cleanup(() => lingering.destroy());

  const published: string[] = [];
  let publishing = true;
  const publisher = (async () => {
    for (let i = 0; publishing; i++) {
      await publishTo(broker, cfg, channel, `m-${i}`);
      published.push(`m-${i}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  for (const c of clients) await c.waitForMessages(5);

  one.p.proc.kill("SIGTERM");
  await whileDraining?.();
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
    "no client saw a refusal: reconnects that reached the draining edge went to the other one",
  );
  for (const c of clients) assert.deepEqual(texts(c.messages()), published, "everything once, in order");
}

/** An SSE client straight to an edge that reads the response head, then nothing more. */
export async function lingeringClient(port: number, channel: string): Promise<Socket> {
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
