/**
 * Where the edge allocates under fan-out load, and what of it lives long
 * enough to be promoted: an edge in this process on a nats-server, the load
 * generator's clients in their own processes (SUBS connections over
 * CHANNELS channels), channel messages published straight to the channel
 * stream at RATE per second, and V8's sampling heap profiler over SECONDS.
 *
 *   node --import tsx bench/edge/heap-sample.ts [promoted|all]
 *
 * "promoted" (the default) keeps the samples of objects that were still
 * alive at the end or were freed by an old-generation collection: what
 * outlived the young generation. Anything allocated per delivery that shows
 * up there makes the old generation grow and its collections pause the
 * edge. "all" keeps every sample: the allocation rate by site. The publisher
 * runs in this process too, so its sites show up as well.
 *
 * Environment: SUBS (10000), CHANNELS (100), RATE (500), SECONDS (15), TOP (25).
 */
import { randomUUID } from "node:crypto";
import { Session } from "node:inspector/promises";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { channelSubject } from "../../src/events/channel.js";
import { encodeChannelMessage } from "../../src/events/envelope.js";
import { marker } from "../../src/loadtest/marker.js";
import { Publisher } from "../../src/loadtest/publisher.js";
import { startNatsServer } from "../../test/helpers/nats-server.js";
import { startStack, testConfig } from "../../test/helpers/stack.js";
import { openSubscribers } from "./system.js";

const SUBS = Number(process.env.SUBS ?? 10_000);
const CHANNELS = Number(process.env.CHANNELS ?? 100);
const RATE = Number(process.env.RATE ?? 500);
const SECONDS = Number(process.env.SECONDS ?? 15);
const TOP = Number(process.env.TOP ?? 25);
const mode = process.argv[2] ?? "promoted";
if (mode !== "promoted" && mode !== "all") {
  console.error("usage: heap-sample.ts [promoted|all]");
  process.exit(2);
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const nats = await startNatsServer();
const broker = await JetStreamBroker.connect({ servers: nats.url, name: "realer-edge" });
const cfg = testConfig((c) => {
  c.edge.heartbeatMs = 15_000;
  c.edge.maxConnectionsPerAddress = 0;
});
const stack = await startStack(broker, { cfg, worker: false });
const url = new URL(stack.edge!.url);
const channelOf = Array.from({ length: SUBS }, (_, i) => i % CHANNELS);
const lg = await openSubscribers({
  host: url.hostname,
  port: Number(url.port),
  paths: channelOf.map((c) => `/v1/sse?channel=thread:c${c}`),
  channelOf,
  processes: Math.max(2, Math.ceil(SUBS / 5000)),
});
const pubBroker = await JetStreamBroker.connect({ servers: nats.url, name: "bench-publisher" });
const publisher = new Publisher(CHANNELS, async (ch, n, t) => {
  const channel = `thread:c${ch}`;
  const eventId = randomUUID();
  const data = JSON.stringify({ id: marker(ch, n, t), threadId: `c${ch}`, author: "bench", html: "" });
  await pubBroker.publish(
    channelSubject(cfg.subjects.channels, channel),
    encodeChannelMessage({ channel, eventId, type: "comment.created", data }),
    { msgId: `${eventId}:${channel}` },
  );
  return true;
});

try {
  await publisher.run(RATE, 5_000); // warm-up: connections settled, code optimized
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 2048,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: mode === "all",
  } as never);
  await publisher.run(RATE, SECONDS * 1000);
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as { profile: { head: ProfileNode } };
  session.disconnect();

  // Self size by allocation site and its caller (sites inlined into a caller show under it).
  const bySite = new Map<string, number>();
  const name = (n: ProfileNode) => {
    const f = n.callFrame;
    return `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
  };
  const stack: [ProfileNode, string][] = [[profile.head, ""]];
  while (stack.length > 0) {
    const [n, caller] = stack.pop()!;
    const key = `${name(n)}  <- ${caller}`;
    bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
    for (const c of n.children) stack.push([c, name(n)]);
  }
  const total = [...bySite.values()].reduce((a, b) => a + b, 0);
  const mb = (b: number) => (b / 1e6).toFixed(2).padStart(7);
  console.log(
    `${mode}: ${mb(total)} MB sampled in ${SECONDS} s (${SUBS} connections, ${CHANNELS} channels, ${RATE} msg/s)`,
  );
  for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP))
    console.log(`${mb(v)} MB  ${k}`);
} finally {
  await lg.close();
  await stack.close();
  await pubBroker.close();
  await broker.close();
  await nats.stop();
}
process.exit(0);
