/**
 * What nats-server spends per channel message, by what reads it: a
 * nats-server, realer's streams (the channel stream republishes what it
 * stores), and channel messages published at RATE per second (with their
 * dedupe ids, as the worker publishes them) for SECONDS, read by:
 * - none: nothing;
 * - live: one subscription to every channel's republished messages (the live subjects an edge
 *   subscribes to one channel at a time);
 * - edge: a `realer edge` process with no clients (its CPU is printed too):
 *   BENCH_EDGE_CLI picks the build (default dist/cli/main.js), so two builds
 *   can be compared in one run.
 * Prints nats-server's CPU per message for each.
 *
 *   node --import tsx bench/nats-cost.ts [none,live,edge]
 *
 * Environment: BENCH_RATE (default 500), BENCH_SECONDS (default 20), BENCH_EDGE_NODE_ARGS (Node options
 * for the edge process, space-separated, e.g. "--cpu-prof --cpu-prof-dir=prof").
 */

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { JetStreamBroker } from "../src/broker/jetstream/broker.js";
import { ensureStreams } from "../src/cli/components.js";
import { defaultConfig } from "../src/config/config.js";
import { channelSubject } from "../src/events/channel.js";
import { encodeChannelMessage } from "../src/events/envelope.js";
import { sample } from "../src/loadtest/proc-stats.js";
import { Publisher } from "../src/loadtest/publisher.js";
import { startNatsServer } from "../test/helpers/nats-server.js";
import { waitFor } from "../test/helpers/wait.js";

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const modes = (process.argv[2] ?? "none,live,edge").split(",");
const EDGE_CLI = process.env.BENCH_EDGE_CLI ?? fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const EDGE_NODE_ARGS = (process.env.BENCH_EDGE_NODE_ARGS ?? "").split(" ").filter(Boolean);

async function measure(mode: string): Promise<string> {
  const nats = await startNatsServer();
  const cfg = defaultConfig();
  // File storage, as every process on JetStream creates the streams (a memory
  // stream with RePublish costs nats-server 2.9 more the more it holds).
  cfg.nats = nats.url;
  const pub = await JetStreamBroker.connect({ servers: nats.url, name: "bench-publisher" });
  const reader = await JetStreamBroker.connect({ servers: nats.url, name: "bench-reader" });
  let edge: ChildProcess | undefined;
  try {
    await ensureStreams(pub, cfg);
    let received = 0;
    if (mode === "live") {
      const live = await reader.liveSubjects(cfg.streams.channels.name);
      if (!live) throw new Error("the channel stream does not republish");
      live.subscribe(`${cfg.subjects.channels}.>`, () => {
        received++;
      });
      await live.flush();
    } else if (mode === "edge") {
      edge = spawn(
        process.execPath,
        [...EDGE_NODE_ARGS, EDGE_CLI, "edge", "--nats", nats.url, "--port", "0"],
        {
          env: { ...process.env, REALER_LOG_LEVEL: "info" },
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      let out = "";
      edge.stdout!.setEncoding("utf8").on("data", (d: string) => {
        out += d;
      });
      await waitFor(() => out.includes('"msg":"edge listening"'), { timeoutMs: 30_000, what: "the edge" });
    }
    const publisher = new Publisher(100, async (ch) => {
      const channel = `thread:c${ch}`;
      const eventId = randomUUID();
      const data = encodeChannelMessage({ channel, eventId, type: "comment.created", data: "x".repeat(200) });
      await pub.publish(channelSubject(cfg.subjects.channels, channel), data, {
        msgId: `${eventId}:${channel}`,
      });
      return true;
    });
    await publisher.run(RATE, 3000);
    const s0 = sample(nats.pid);
    const e0 = edge ? sample(edge.pid!) : undefined;
    const r = await publisher.run(RATE, SECONDS * 1000);
    const s1 = sample(nats.pid);
    const e1 = edge ? sample(edge.pid!) : undefined;
    const cpuS = s1.cpuS - s0.cpuS;
    const us = Math.round((cpuS * 1e6) / r.sent);
    const kernel = Math.round(((s1.sysS - s0.sysS) / cpuS) * 100);
    const edgeUs =
      e0 && e1 ? `; edge ${Math.round(((e1.cpuS - e0.cpuS) * 1e6) / r.sent)} us per message` : "";
    const read = mode === "live" ? `; read ${received}` : "";
    return `${mode.padEnd(8)} nats-server ${us} us per message (${kernel}% kernel)${edgeUs}${read}`;
  } finally {
    if (edge && edge.exitCode === null) {
      const exited = new Promise((r) => edge!.once("exit", r));
      edge.kill("SIGTERM");
      await exited;
    }
    await reader.close();
    await pub.close();
    await nats.stop();
  }
}

for (const m of modes) console.log(await measure(m));
process.exit(0);
