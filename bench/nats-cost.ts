/**
 * What nats-server spends per channel message, by what reads it: a
 * nats-server, realer's streams, and channel messages published at RATE per
 * second (with their dedupe ids, as the worker publishes them) for SECONDS,
 * read by nothing, by a tail of the stream (the edge's ordered consumer), or
 * by a plain subscription to the stream's subjects (what a republish-based
 * edge would cost). Prints nats-server's CPU per message for each.
 *
 *   node --import tsx bench/nats-cost.ts [none,tail,core]
 *
 * Environment: BENCH_RATE (default 500), BENCH_SECONDS (default 20).
 */
import { randomUUID } from "node:crypto";
import { connect } from "@nats-io/transport-node";
import { JetStreamBroker } from "../src/broker/jetstream-broker.js";
import { ensureStreams } from "../src/cli/wiring.js";
import { defaultConfig } from "../src/config/config.js";
import { channelSubject } from "../src/events/channel.js";
import { encodeChannelMessage } from "../src/events/envelope.js";
import { startNatsServer } from "../test/helpers/nats-server.js";
import { children, commandLine, sample } from "./edge/proc-stats.js";
import { Publisher } from "./edge/publisher.js";

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const modes = (process.argv[2] ?? "none,tail,core").split(",");

async function measure(mode: string): Promise<string> {
  const nats = await startNatsServer();
  const pid = children(process.pid).find((p) => commandLine(p).includes(nats.storeDir));
  if (pid === undefined) throw new Error("nats-server's process not found");
  const cfg = defaultConfig();
  const pub = await JetStreamBroker.connect({ servers: nats.url, name: "bench-publisher" });
  const reader = await JetStreamBroker.connect({ servers: nats.url, name: "bench-reader" });
  const plain = mode === "core" ? await connect({ servers: nats.url, name: "bench-subscriber" }) : undefined;
  try {
    await ensureStreams(pub, cfg);
    let received = 0;
    if (mode === "tail") {
      const tail = reader.tail(cfg.streams.channels.name, { fromSeq: 1 });
      void (async () => {
        for await (const _ of tail) received++;
      })();
    } else if (mode === "core") {
      plain!.subscribe(`${cfg.subjects.channels}.>`, {
        callback: () => {
          received++;
        },
      });
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
    const s0 = sample(pid);
    const r = await publisher.run(RATE, SECONDS * 1000);
    const s1 = sample(pid);
    const cpuS = s1.cpuS - s0.cpuS;
    const us = Math.round((cpuS * 1e6) / r.sent);
    const kernel = Math.round(((s1.sysS - s0.sysS) / cpuS) * 100);
    return `${mode.padEnd(5)} nats-server ${us} us per message (${kernel}% kernel); read ${received}`;
  } finally {
    await plain?.close();
    await reader.close();
    await pub.close();
    await nats.stop();
  }
}

for (const m of modes) console.log(await measure(m));
process.exit(0);
