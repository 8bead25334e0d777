/**
 * The figures behind the edges, for docs/scaling.md:
 * - worker: events/s one `realer worker` process carries end to end (HTTP
 *   ingest -> events stream -> worker -> channel stream -> edge), with each
 *   process's CPU per event, from `realer bench` steady runs at rising rates;
 * - nats: nats-server's CPU per channel message with K `realer edge`
 *   processes each watching every channel (one subscription per channel
 *   per edge, and each edge's verification reads), against K = 0 (nothing
 *   reads) on a fresh server each.
 */
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { ensureStreams } from "../../src/cli/components.js";
import { defaultConfig } from "../../src/config/config.js";
import { channelSubject } from "../../src/events/channel.js";
import { encodeChannelMessage } from "../../src/events/envelope.js";
import { sampleAll } from "../../src/loadtest/proc-stats.js";
import { Publisher } from "../../src/loadtest/publisher.js";
import {
  bench,
  cpuBetween,
  edge,
  ingest,
  mark,
  nats,
  realerFlags,
  steadyFlags,
  stopAll,
  type Watched,
  worker,
} from "./stack.js";

export interface WorkerRun {
  rate: number;
  sentRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  lost: number;
  duplicates: number;
  keptUp: boolean;
  /** CPU per event (us) and cores, by process: worker, ingest, nats-server, edge. */
  usPerEvent: Record<string, number>;
  cores: Record<string, number>;
}

/**
 * (c) Steady runs at each rate, `channels` channels with one subscriber
 * each, until one falls behind; `keptUp` says whether a run also kept p99
 * within `maxP99Ms`.
 */
export async function workerPath(o: {
  rates: number[];
  channels: number;
  maxP99Ms: number;
}): Promise<WorkerRun[]> {
  try {
    const ns = await nats();
    const key = randomUUID();
    const ing = await ingest(ns.url, key);
    const wk = await worker(ns.url);
    const e = await edge(ns.url, 1);
    const watched: Watched[] = [
      { name: "worker", pids: wk.pids },
      { name: "ingest", pids: ing.pids },
      { name: "nats-server", pids: () => [ns.pid] },
      { name: "edge", pids: e.pids },
    ];
    const out: WorkerRun[] = [];
    for (const rate of o.rates) {
      const run = await bench(
        [
          ...realerFlags(e.port, ing.port, key),
          ...steadyFlags({
            subscribers: o.channels,
            channels: o.channels,
            rate: rate,
            duration: "20s",
            grace: "5s",
          }),
        ],
        watched,
      );
      const p = mark(run.marks, "publishing");
      const w = mark(run.marks, "waiting for late messages");
      const r = run.result;
      const events = r.publish.accepted;
      const secs = (w.atMs - p.atMs) / 1000;
      const usPerEvent: Record<string, number> = {};
      const cores: Record<string, number> = {};
      for (const x of watched) {
        const cpu = cpuBetween(p, w, x.name);
        usPerEvent[x.name] = Math.round((cpu * 1e6) / Math.max(1, events));
        cores[x.name] = Math.round((cpu / secs) * 100) / 100;
      }
      out.push({
        rate,
        sentRate: r.publish.sentRate,
        p50Ms: r.latency.p50Ms,
        p99Ms: r.latency.p99Ms,
        lost: r.totals.lost,
        duplicates: r.totals.duplicates,
        keptUp:
          r.totals.lost === 0 &&
          r.publish.failed === 0 &&
          r.publish.sentRate >= 0.95 * rate &&
          (r.latency.p99Ms ?? Number.POSITIVE_INFINITY) <= o.maxP99Ms,
        usPerEvent,
        cores,
      });
      // Past the bound, go on while the path is not falling behind (on a shared box the bound is often
      // the neighbours' doing); stop once a queue builds.
      if (r.totals.lost > 0 || r.publish.sentRate < 0.95 * rate || (r.latency.p99Ms ?? 0) > 2_000) break;
    }
    return out;
  } finally {
    await stopAll();
  }
}

export interface NatsCost {
  edges: number;
  channels: number;
  watch: number;
  verifyMs: number;
  rate: number;
  sentRate: number;
  natsUsPerMessage: number;
  natsKernelShare: number;
  edgeUsPerMessage: number;
  /** Messages each edge's client connection received from nats-server per channel message (live and verification reads). */
  edgeInMsgsPerMessage: number;
}

/** A GET of the edge's stream on the channels, its body read and dropped, until `close()`. */
function watchAll(port: number, channels: string[]): { close(): void; opened: Promise<void> } {
  const q = channels.map((c) => `channel=${encodeURIComponent(c)}`).join("&");
  let close = () => {};
  const opened = new Promise<void>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: `/v1/sse?${q}`, headers: { accept: "text/event-stream" } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`edge answered ${res.statusCode}`));
        res.on("data", () => {});
        res.on("error", () => {});
        resolve();
      },
    );
    req.on("error", reject);
    req.end();
    close = () => req.destroy();
  });
  return { close: () => close(), opened };
}

/** Messages nats-server sent each client connection so far, by connection id, the publisher's left out. */
async function sentToClients(monitorUrl: string): Promise<Map<number, number>> {
  const res = await fetch(`${monitorUrl}/connz?limit=1024`);
  const body = (await res.json()) as { connections: { cid: number; name?: string; out_msgs: number }[] };
  return new Map(
    body.connections.filter((c) => c.name !== "bench-publisher").map((c) => [c.cid, c.out_msgs]),
  );
}

/**
 * (d) nats-server's CPU per channel message, published round-robin on
 * `channels` channels, with `edges` edges each watching the first `watch`
 * of them (at most 100: one SSE connection each).
 */
export async function natsCost(o: {
  edges: number;
  channels: number;
  watch: number;
  rate: number;
  seconds: number;
  verifyMs: number;
}): Promise<NatsCost> {
  try {
    const ns = await nats();
    const cfg = defaultConfig();
    cfg.nats = ns.url;
    const pub = await JetStreamBroker.connect({ servers: ns.url, name: "bench-publisher" });
    await ensureStreams(pub, cfg);
    const channels = Array.from({ length: o.channels }, (_, i) => `thread:c${i}`);
    const edges: Awaited<ReturnType<typeof edge>>[] = [];
    for (let i = 0; i < o.edges; i++) {
      edges.push(
        await edge(ns.url, 1, {
          REALER_MAX_CHANNELS: "100",
          REALER_EDGE_VERIFY_MS: String(o.verifyMs),
          REALER_LOG_LEVEL: "info",
        }),
      );
    }
    const watchers = edges.map((e) => watchAll(e.port, channels.slice(0, o.watch)));
    try {
      await Promise.all(watchers.map((w) => w.opened));
      const publisher = new Publisher(o.channels, async (ch) => {
        const channel = channels[ch]!;
        const eventId = randomUUID();
        const data = encodeChannelMessage({
          channel,
          eventId,
          type: "comment.created",
          data: "x".repeat(200),
        });
        await pub.publish(channelSubject(cfg.subjects.channels, channel), data, {
          msgId: `${eventId}:${channel}`,
        });
        return true;
      });
      await publisher.run(o.rate, 3_000);
      const edgePids = () => edges.flatMap((e) => e.pids());
      const n0 = sampleAll([ns.pid]);
      const e0 = sampleAll(edgePids());
      const c0 = await sentToClients(ns.monitorUrl!);
      const r = await publisher.run(o.rate, o.seconds * 1000);
      const n1 = sampleAll([ns.pid]);
      const e1 = sampleAll(edgePids());
      const c1 = await sentToClients(ns.monitorUrl!);
      let edgeIn = 0;
      for (const [cid, out] of c1) edgeIn += out - (c0.get(cid) ?? 0);
      const cpu = n1.cpuS - n0.cpuS;
      return {
        edges: o.edges,
        channels: o.channels,
        watch: o.watch,
        verifyMs: o.verifyMs,
        rate: o.rate,
        sentRate: Math.round(r.achievedRate),
        natsUsPerMessage: Math.round((cpu * 1e6) / r.sent),
        natsKernelShare: Math.round(((n1.sysS - n0.sysS) / cpu) * 100) / 100,
        edgeUsPerMessage: o.edges ? Math.round(((e1.cpuS - e0.cpuS) * 1e6) / r.sent / o.edges) : 0,
        edgeInMsgsPerMessage: o.edges ? Math.round((edgeIn / r.sent / o.edges) * 100) / 100 : 0,
      };
    } finally {
      for (const w of watchers) w.close();
      await pub.close();
    }
  } finally {
    await stopAll();
  }
}
