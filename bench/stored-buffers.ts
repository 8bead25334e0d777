/**
 * What the in-memory broker's stored messages keep alive: N comment events of
 * 1 KB through the real path in one process (producer -> events stream ->
 * worker -> channel stream) on a MemoryBroker; then, for each stream, the
 * bytes of message data against the bytes of the distinct ArrayBuffers
 * behind them. Baseline, same run: the buffers the publishers handed to the
 * broker (what it kept before it copied them): protobufjs encodes into
 * Buffer.allocUnsafe, whose small buffers are views into shared 8 KiB pool
 * slabs, so keeping one 1 KB message keeps its whole slab.
 *
 *   node --expose-gc --import tsx bench/stored-buffers.ts [N]
 */
import { MemoryBroker } from "../src/broker/memory/broker.js";
import type { PublishOptions } from "../src/broker/types.js";
import { createProducer, ensureStreams, loadDomain, startWorker } from "../src/cli/components.js";
import { defaultConfig } from "../src/config/config.js";
import { CommentCreated } from "../src/demo/comments.js";
import { createLogger } from "../src/log/logger.js";

const N = Number(process.argv[2] ?? 20_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

class Recording extends MemoryBroker {
  readonly handed = new Map<string, Uint8Array[]>();
  override publish(subject: string, data: Uint8Array, opts?: PublishOptions) {
    const key = subject.split(".")[1]!;
    const list = this.handed.get(key) ?? [];
    this.handed.set(key, list);
    list.push(data);
    return super.publish(subject, data, opts);
  }
}

function pinned(views: Iterable<Uint8Array>): { data: number; buffers: number; count: number } {
  const seen = new Set<ArrayBufferLike>();
  let data = 0;
  let buffers = 0;
  for (const v of views) {
    data += v.byteLength;
    if (seen.has(v.buffer)) continue;
    seen.add(v.buffer);
    buffers += v.buffer.byteLength;
  }
  return { data, buffers, count: seen.size };
}

const cfg = defaultConfig();
cfg.logLevel = "silent";
const broker = new Recording();
await ensureStreams(broker, cfg);
const domain = loadDomain();
const worker = await startWorker(broker, cfg, domain, createLogger({ level: "silent" }));
const producer = createProducer(broker, cfg, domain, "bench");
const text = "x".repeat(1000);
for (let i = 0; i < N; i += 500) {
  await Promise.all(
    Array.from({ length: Math.min(500, N - i) }, (_, j) =>
      producer.emit(CommentCreated, `thread:${(i + j) % 100}`, {
        comment: {
          id: `c${i + j}`,
          threadId: String((i + j) % 100),
          author: "a",
          text,
          createdAt: Date.now(),
        },
      }),
    ),
  );
}
while ((await broker.consumerState(cfg.streams.events.name, cfg.worker.durable)).ackFloor < N)
  await new Promise((r) => setTimeout(r, 50));
gc();

const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
console.log(`${N} comment events of 1 KB, stored on both streams of a MemoryBroker`);
for (const [key, stream] of [
  ["events", cfg.streams.events.name],
  ["ch", cfg.streams.channels.name],
] as const) {
  const stored: Uint8Array[] = [];
  for await (const m of broker.read(stream, { fromSeq: 1 })) stored.push(m.data);
  const now = pinned(stored);
  const before = pinned(broker.handed.get(key) ?? []);
  console.log(
    `${stream}: ${kb(now.data)} of data in ${now.count} buffers of ${kb(now.buffers)} (${(now.buffers / now.data).toFixed(2)}x);` +
      ` as handed to the broker (baseline): ${before.count} buffers of ${kb(before.buffers)}` +
      ` (${(before.buffers / before.data).toFixed(2)}x); kept now / baseline: ${(now.buffers / before.buffers).toFixed(2)}x`,
  );
}
await worker.stop();
await broker.close();
process.exit(0);
