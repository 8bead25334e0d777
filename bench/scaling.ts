/**
 * The per-box figures behind docs/scaling.md, each made by `realer bench`
 * against `realer edge` (and `realer ingest`, `realer worker`) processes on
 * a nats-server started here on a random port, or against nchan (the
 * baseline) with the same command. Needs `npm run build` (the processes run
 * from dist/). Every run is bounded (a few minutes at most) and stops
 * everything it started. Prints each `realer bench` command line it ran,
 * the figures, and writes them as JSON to .bench/scaling-<figure>-<time>.json.
 *
 *   node --import tsx bench/scaling.ts idle [--connections 18000] [--workers 1] [--systems nchan,realer]
 *   node --import tsx bench/scaling.ts fanout [--subscribers 5000] [--rates 2,4,8,16,24,32] [--max-p99 200ms]
 *   node --import tsx bench/scaling.ts worker [--rates 250,500,1000,2000,4000] [--channels 400]
 *   node --import tsx bench/scaling.ts nats [--edges 0,1,2,4] [--rate 500] [--seconds 20] [--verify-ms 1000]
 *                                           [--nats-channels 100] [--watch 100]   (channels published; watched per edge)
 *   node --import tsx bench/scaling.ts interest [--subscribers 5000]
 *   node --import tsx bench/scaling.ts storm [--subscribers 10000] [--rate 100]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fanout, idle, interest, type System, storm } from "./scaling/edge-figures.js";
import { natsCost, workerPath } from "./scaling/path-figures.js";
import { checkBuilt, loadAverage, stopAll } from "./scaling/stack.js";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    connections: { type: "string", default: "18000" },
    workers: { type: "string", default: "1" },
    systems: { type: "string", default: "nchan,realer" },
    subscribers: { type: "string" },
    rates: { type: "string" },
    "max-p99": { type: "string", default: "200ms" },
    channels: { type: "string", default: "400" },
    edges: { type: "string", default: "0,1,2,4" },
    rate: { type: "string" },
    seconds: { type: "string", default: "20" },
    "verify-ms": { type: "string", default: "1000" },
    "nats-channels": { type: "string", default: "100" },
    watch: { type: "string" },
  },
});

const figure = positionals[0] ?? "";
const list = (v: string) => v.split(",").map((x) => Number(x.trim()));
const systems = values.systems.split(",") as System[];
const workers = Number(values.workers);

const durationMs = (v: string): number => {
  const m = /^(\d+)(ms|s)$/.exec(v);
  if (!m) throw new Error(`--max-p99 ${v}: write e.g. 200ms`);
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
};

async function main(): Promise<unknown[]> {
  const out: unknown[] = [];
  const show = (x: unknown) => {
    console.log(JSON.stringify(x));
    out.push(x);
  };
  switch (figure) {
    case "idle":
      for (const s of systems) show(await idle(s, { connections: Number(values.connections), workers }));
      break;
    case "fanout":
      for (const s of systems)
        show(
          await fanout(s, {
            subscribers: Number(values.subscribers ?? 5000),
            rates: list(values.rates ?? "2,4,8,16,24,32"),
            maxP99Ms: durationMs(values["max-p99"]),
            workers,
          }),
        );
      break;
    case "worker":
      for (const r of await workerPath({
        rates: list(values.rates ?? "250,500,1000,2000,4000"),
        channels: Number(values.channels),
        maxP99Ms: durationMs(values["max-p99"]),
      }))
        show(r);
      break;
    case "nats":
      for (const k of list(values.edges))
        show(
          await natsCost({
            edges: k,
            channels: Number(values["nats-channels"]),
            watch: Math.min(100, Number(values.watch ?? values["nats-channels"])),
            rate: Number(values.rate ?? 500),
            seconds: Number(values.seconds),
            verifyMs: Number(values["verify-ms"]),
          }),
        );
      break;
    case "interest": {
      const n = Number(values.subscribers ?? 5000);
      show(await interest({ subscribers: n, channels: 10 }));
      show(await interest({ subscribers: n, channels: n }));
      break;
    }
    case "storm":
      show(
        await storm({ subscribers: Number(values.subscribers ?? 10000), rate: Number(values.rate ?? 100) }),
      );
      break;
    default:
      throw new Error(`unknown figure ${figure || "(none)"}: idle, fanout, worker, nats, interest or storm`);
  }
  return out;
}

checkBuilt();
const started = new Date();
console.log(`scaling ${figure} at ${started.toISOString()}, load average ${loadAverage()}`);
// Bounded: whatever happens, nothing runs past 8 minutes.
const guard = setTimeout(() => {
  console.error("scaling: 8 minutes passed; stopping everything");
  void stopAll().finally(() => process.exit(1));
}, 8 * 60_000);
process.once("SIGINT", () => void stopAll().finally(() => process.exit(130)));
try {
  const figures = await main();
  console.log(`done at ${new Date().toISOString()}, load average ${loadAverage()}`);
  mkdirSync(".bench", { recursive: true });
  const file = `.bench/scaling-${figure}-${started.toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ figure, argv: process.argv.slice(2), started, figures }, null, 2));
  console.log(`written to ${file}`);
} catch (err) {
  console.error(err);
  await stopAll();
  process.exitCode = 1;
} finally {
  clearTimeout(guard);
}
process.exit(process.exitCode ?? 0);
