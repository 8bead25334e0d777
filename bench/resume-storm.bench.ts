/**
 * A resume storm against one edge: CHANNELS channels of MESSAGES messages of
 * about 1 KB each in the channel stream (the in-memory broker, in the edge's
 * own process), then CONNECTIONS clients that all come back at once on every
 * channel with a Last-Event-ID far behind (beyond the edge's ring, so every
 * resume reads the stream). First the clients read nothing (the worst case
 * for the edge's memory: every resume has started and none can finish),
 * then they all read as fast as they can (the whole history is tens of
 * gigabytes: they read for BENCH_READ_S). Prints the edge process's RSS
 * before, at its peak while the clients stall, and at its peak while they
 * read, with the deliveries per second.
 *
 *   node --import tsx bench/resume-storm.bench.ts   (or: npm run bench -- resume-storm)
 *
 * Environment: BENCH_CONNECTIONS (1000), BENCH_CHANNELS (32), BENCH_MESSAGES (1000), BENCH_CURSORS
 * (distinct cursors among the clients, 100), BENCH_STALL_S (10), BENCH_READ_S (10), BENCH_BASELINE_SRC: the root of
 * another checkout whose edge runs the same storm first, as the baseline (its src/ is imported).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { sample } from "../src/loadtest/proc-stats.js";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 1000);
const CHANNELS = Number(process.env.BENCH_CHANNELS ?? 32);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1000);
const CURSORS = Number(process.env.BENCH_CURSORS ?? 100);
const STALL_S = Number(process.env.BENCH_STALL_S ?? 10);
const READ_S = Number(process.env.BENCH_READ_S ?? 10);
const HERE = fileURLToPath(new URL("..", import.meta.url));

/** The edge process: preloads the stream, serves, prints `{port, epoch}`. */
async function serve(root: string): Promise<void> {
  // Where the in-memory broker lives in this checkout (it moved into src/broker/memory/).
  const memory = existsSync(`${root}/src/broker/memory/broker.ts`) ? "memory/broker.ts" : "memory-broker.ts";
  const { MemoryBroker } = await import(`${root}/src/broker/${memory}`);
  const { ensureStreams } = await import(`${root}/src/cli/wiring.ts`);
  const { defaultConfig } = await import(`${root}/src/config/config.ts`);
  const { createEdge } = await import(`${root}/src/edge/create-edge.ts`);
  const { encodeChannelMessage } = await import(`${root}/src/events/envelope.ts`);
  const { createLogger } = await import(`${root}/src/log/logger.ts`);
  const cfg = defaultConfig();
  cfg.edge.maxConnectionsPerAddress = 0;
  cfg.edge.maxChannels = Math.max(cfg.edge.maxChannels, CHANNELS);
  cfg.streams.channels.maxMsgsPerSubject = MESSAGES * 2;
  const broker = new MemoryBroker();
  await ensureStreams(broker, cfg);
  const text = "x".repeat(1000);
  for (let i = 0; i < MESSAGES; i++) {
    for (let c = 0; c < CHANNELS; c++) {
      const channel = `storm:c${c}`;
      const data = encodeChannelMessage({
        channel,
        eventId: `e${i}-${c}`,
        type: "note",
        data: JSON.stringify({ i, text }),
      });
      await broker.publish(`${cfg.subjects.channels}.${channel}`, data);
    }
  }
  const edge = await createEdge(broker, cfg, createLogger({ level: "warn" }));
  await edge.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = edge.app.server.address() as { port: number };
  global.gc?.();
  console.log(JSON.stringify({ port, epoch: edge.hub.epoch }));
}

interface Client {
  /** The HTTP status, or 0 when the request failed. */
  status: number;
  messages: number;
  done: Promise<void>;
  resume(): void;
}

function connect(port: number, epoch: string, cursor: number, expect: number): Promise<Client> {
  const qs = Array.from({ length: CHANNELS }, (_, c) => `channel=storm:c${c}`).join("&");
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: `/v1/sse?${qs}`,
        headers: { accept: "text/event-stream", "last-event-id": `${epoch}-${cursor}` },
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve({ status: res.statusCode ?? 0, messages: 0, done: Promise.resolve(), resume() {} });
          return;
        }
        res.pause();
        let finish!: () => void;
        const done = new Promise<void>((r) => {
          finish = r;
        });
        const c: Client = { status: 200, messages: 0, done, resume: () => res.resume() };
        let tail = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          const s = tail + chunk;
          let at = s.indexOf("\nid:");
          while (at >= 0) {
            c.messages++;
            at = s.indexOf("\nid:", at + 4);
          }
          tail = s.slice(-4);
          if (c.messages >= expect) {
            finish();
            req.destroy();
          }
        });
        res.on("close", finish);
        resolve(c);
      },
    );
    req.on("error", () => resolve({ status: 0, messages: 0, done: Promise.resolve(), resume() {} }));
    req.end();
  });
}

async function storm(label: string, root: string): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "serve", root], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once("line", resolve);
      child.once("exit", (code) => reject(new Error(`edge exited ${code}`)));
    });
    const { port, epoch } = JSON.parse(line) as { port: number; epoch: string };
    const pid = child.pid!;
    const before = sample(pid).rssBytes;
    let peak = before;
    const watch = setInterval(() => {
      peak = Math.max(peak, sample(pid).rssBytes);
    }, 100);
    const clients: Client[] = [];
    for (let i = 0; i < CONNECTIONS; i += 50) {
      const batch = [];
      for (let j = i; j < Math.min(CONNECTIONS, i + 50); j++) {
        // The first CURSORS sequences: every client wants (nearly) the whole history.
        const cursor = j % CURSORS;
        batch.push(connect(port, epoch, cursor, CHANNELS * MESSAGES - cursor));
      }
      clients.push(...(await Promise.all(batch)));
    }
    const t0 = Date.now();
    while (Date.now() - t0 < STALL_S * 1000) await new Promise((r) => setTimeout(r, 200));
    const stalled = peak;
    peak = sample(pid).rssBytes;
    const count = () => clients.reduce((n, c) => n + c.messages, 0);
    const d0 = count();
    const t1 = Date.now();
    for (const c of clients) c.resume();
    await Promise.race([
      Promise.all(clients.map((c) => c.done)),
      new Promise((r) => setTimeout(r, READ_S * 1000)),
    ]);
    const readS = (Date.now() - t1) / 1000;
    clearInterval(watch);
    const delivered = count() - d0;
    const refused = clients.filter((c) => c.status !== 200);
    const statuses = [...new Set(refused.map((c) => c.status || "error"))].join(", ");
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
    return [
      `${label}: ${CONNECTIONS} connections x ${CHANNELS} channels x ${MESSAGES} messages (${CURSORS} distinct cursors)`,
      `  edge RSS before ${mb(before)}; peak with every client stalled ${mb(stalled)} (+${mb(stalled - before)},`,
      `  ${((stalled - before) / CONNECTIONS / 1024).toFixed(0)} KB per connection); peak while they read ${mb(peak)} (+${mb(peak - before)})`,
      `  reading: ${Math.round(delivered / readS)} deliveries/s over ${readS.toFixed(1)} s (${d0} delivered while stalled)`,
      `  ${refused.length} of ${CONNECTIONS} connections refused${refused.length ? ` (${statuses})` : ""}`,
    ].join("\n");
  } finally {
    child.kill("SIGKILL");
  }
}

if (process.argv[2] === "serve") await serve(process.argv[3] ?? HERE);
else {
  const base = process.env.BENCH_BASELINE_SRC;
  if (base) console.log(await storm(`baseline (${base})`, base));
  console.log(await storm("this build", HERE));
  process.exit(0);
}
