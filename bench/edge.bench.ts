/**
 * Edge benchmark: realer against nchan, same load generator, same
 * scenarios, same run (issue 4).
 *
 *   node --import tsx bench/edge.bench.ts [--full] [--scenarios a,b,c,d] [--edge-only]
 *                                       [--edge-workers N] [--nchan-workers 1,2] [--scale 0.01]
 *                                       [--systems nchan,realer,realer-ingest,realer-edge] [--rates 2,4,8] [--profile-edge DIR]
 *
 * Defaults to a quick pass of every scenario (under ~10 minutes); --full uses
 * the longer windows recorded in docs/benchmarks.md. Installs nchan from
 * Debian when missing (root). Prints a report and writes it, with the raw
 * figures, to .bench/edge-<time>.{md,json}.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { startNchan } from "./edge/nchan.js";
import { startRealer } from "./edge/realer.js";
import {
  type IdleResult,
  idle,
  KEPT_UP_P99_MS,
  type RunTotals,
  rising,
  steady,
  type TrafficResult,
} from "./edge/scenarios.js";
import type { SystemUnderTest } from "./edge/system.js";

const { values: args } = parseArgs({
  options: {
    full: { type: "boolean", default: false },
    scenarios: { type: "string", default: "a,b,c,d" },
    "edge-only": { type: "boolean", default: false },
    "edge-workers": { type: "string", default: String(Math.min(2, availableParallelism())) },
    "nchan-workers": { type: "string" },
    "idle-connections": { type: "string", default: "19000,40000" },
    /** Publish rates of scenario (c), messages/s, comma separated (default: a ladder). */
    rates: { type: "string" },
    /** Systems to run: nchan, realer (producer SDK), realer-ingest (HTTP ingest), realer-edge (default: nchan and realer; --edge-only adds realer-edge). */
    systems: { type: "string" },
    /** Runs realer's edge processes with --cpu-prof, profiles written to this directory. */
    "profile-edge": { type: "string" },
    /** Extra Node.js options for realer's edge processes, space separated (e.g. "--trace-gc"). */
    "edge-node-args": { type: "string" },
    /** Appends the edge processes' standard output (logs, --trace-gc) to this file. */
    "edge-log": { type: "string" },
    /** The same two for realer's worker process. */
    "worker-node-args": { type: "string" },
    "worker-log": { type: "string" },
    /** Multiplies every subscriber count: a smoke test of the harness with small numbers. */
    scale: { type: "string", default: "1" },
  },
});
const full = args.full;
const scale = Number(args.scale);
const scaled = (n: number) => Math.max(1, Math.round(n * scale));
const scenarios = new Set(args.scenarios.split(","));
const edgeWorkers = Number(args["edge-workers"]);
const nchanWorkers = (args["nchan-workers"] ?? (full ? "1,2" : "1")).split(",").map(Number);
/** Frame payload size both systems carry: realer's comment frame is about this big. */
const MESSAGE_BYTES = 190;

type Starter = { label: string; start: (workers?: number) => Promise<SystemUnderTest> };
const nchan = (w: number): Starter => ({
  label: `nchan-${w}`,
  start: (workers) => startNchan({ workers: workers ?? w, bufferLength: 1000, messageBytes: MESSAGE_BYTES }),
});
const realerOn = (label: string, path: "producer" | "ingest" | "edge"): Starter => ({
  label,
  start: (workers) =>
    startRealer({
      edgeWorkers: workers ?? edgeWorkers,
      path,
      ...(args["profile-edge"] ? { profileDir: args["profile-edge"] } : {}),
      ...(args["edge-node-args"] ? { edgeNodeArgs: args["edge-node-args"].split(" ") } : {}),
      ...(args["edge-log"] ? { edgeLog: args["edge-log"] } : {}),
      ...(args["worker-node-args"] ? { workerNodeArgs: args["worker-node-args"].split(" ") } : {}),
      ...(args["worker-log"] ? { workerLog: args["worker-log"] } : {}),
    }),
});
const realer = realerOn("realer", "producer");
const realerIngest = realerOn("realer-ingest", "ingest");
const realerEdge = realerOn("realer-edge", "edge");
const wanted = (args.systems ?? `nchan,realer${args["edge-only"] ? ",realer-edge" : ""}`).split(",");
const pick = (...xs: Starter[]) => xs.filter((x) => wanted.includes(x.label.replace(/-\d+$/, "")));
const traffic = pick(nchan(nchanWorkers[0]!), realer, realerIngest, realerEdge);

async function withSystem<T>(
  s: Starter,
  body: (sys: SystemUnderTest) => Promise<T>,
  workers?: number,
): Promise<T> {
  const sys = await s.start(workers);
  try {
    return await body(sys);
  } finally {
    await sys.stop();
    // Recorded into the raw figures, so a noisy window can be told from a slow system.
    loads.push({ system: sys.name, at: new Date().toISOString(), loadavg: loadavg() });
  }
}
const loads: { system: string; at: string; loadavg: number[] }[] = [];

const out: string[] = [];
const raw: Record<string, unknown> = { full, edgeWorkers, nchanWorkers, started: new Date().toISOString() };
const say = (line = "") => {
  console.log(line);
  out.push(line);
};
const num = (x: number) => (Number.isFinite(x) ? x.toLocaleString("en-US") : "-");
const ratio = (a: number, b: number) => (b ? `${(a / b).toFixed(2)}x` : "-");

function trafficTable(rows: TrafficResult[]): void {
  say(
    "| system | subs | msg/s sent | publish failures | deliveries/s | lost | dup | dropped | p50 ms | p90 ms | p99 ms | max ms | server CPU us/delivery | edge CPU us/delivery | server cores | generator CPU us/delivery | kept up |",
  );
  say("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    say(
      `| ${r.system} | ${num(r.connected)} | ${num(r.sentRate)} | ${r.publishFailed} | ${num(r.deliveriesPerS)} | ${r.lost} | ${r.duplicates} | ${r.dropped} | ${r.p50Ms} | ${r.p90Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.cpuUsPerDelivery} | ${r.edgeCpuUsPerDelivery} | ${r.serverCores} | ${r.generatorCpuUsPerDelivery} | ${r.keptUp ? "yes" : "no"} |`,
    );
  }
}

async function runSteady(
  key: string,
  title: string,
  o: { subs: number; channels: number; rate: number },
): Promise<void> {
  say(`\n### (${key}) ${title}\n`);
  const rows: TrafficResult[] = [];
  const totals: string[] = [];
  o = { ...o, subs: scaled(o.subs) };
  for (const s of traffic) {
    const r = await withSystem(s, (sys) =>
      steady(sys, {
        ...o,
        clientProcesses: Math.max(2, Math.ceil(o.subs / 5000)),
        warmupMs: full ? 3000 : 2000,
        durationMs: full ? 20_000 : 6_000,
      }),
    );
    rows.push(r.window);
    totals.push(totalLine(r.window.system, r.total));
  }
  trafficTable(rows);
  say("");
  for (const t of totals) say(t);
  say("");
  for (const r of rows) say(roleLine(r));
  const n = rows.find((r) => r.system.startsWith("nchan"));
  for (const r of rows) {
    if (!n || r === n) continue;
    say(
      `\n${r.system} vs nchan: p99 ${ratio(r.p99Ms, n.p99Ms)}, server CPU per delivery ${ratio(r.cpuUsPerDelivery, n.cpuUsPerDelivery)}`,
    );
  }
  raw[key] = rows;
}

/** Where each system's server CPU went, per process role, with the kernel's share. */
function roleLine(r: TrafficResult): string {
  const parts = Object.entries(r.cpuByRole).map(
    ([role, c]) => `${role} ${c.usPerDelivery} us (${Math.round(c.sysShare * 100)}% kernel)`,
  );
  return `- ${r.system}: server CPU per delivery by process: ${parts.join(", ")}`;
}

function totalLine(system: string, t: RunTotals): string {
  return `- ${system}, whole run incl. warm-up: ${num(t.deliveries)} deliveries, ${t.lost} lost, ${t.duplicates} duplicated, ${t.dropped} connections dropped`;
}

async function runRising(): Promise<void> {
  say("\n### (c) 10,000 subscribers on one channel, rate raised until deliveries stop keeping up\n");
  say(
    `A step keeps up when every message arrives within 3 s of the step's end, none twice, and p99 latency stays under ${KEPT_UP_P99_MS} ms; the search stops at the first step that does not.`,
  );
  const rates = args.rates
    ? args.rates.split(",").map(Number)
    : full
      ? [2, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 80, 96, 128, 192, 256]
      : [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 32, 48, 64, 96];
  const o = {
    subs: scaled(10_000),
    channels: 1,
    clientProcesses: 2,
    warmupMs: 2000,
    rates,
    stepMs: full ? 8000 : 4000,
  };
  const bests: { system: string; best: TrafficResult | undefined }[] = [];
  const starters = pick(...nchanWorkers.map(nchan), realer, realerIngest, realerEdge);
  for (const s of starters) {
    const r = await withSystem(s, (sys) => rising(sys, o));
    say(`\n${s.label}: steps`);
    trafficTable(r.steps);
    say(totalLine(r.steps[0]?.system ?? s.label, r.total));
    bests.push({ system: r.steps[0]?.system ?? s.label, best: r.best });
  }
  say("\n| system | highest sustained deliveries/s | p99 ms there | server CPU us/delivery there |");
  say("|---|---|---|---|");
  for (const b of bests)
    say(
      `| ${b.system} | ${num(b.best?.deliveriesPerS ?? 0)} | ${b.best?.p99Ms ?? "-"} | ${b.best?.cpuUsPerDelivery ?? "-"} |`,
    );
  const nBest = Math.max(
    ...bests.filter((b) => b.system.startsWith("nchan")).map((b) => b.best?.deliveriesPerS ?? 0),
  );
  for (const b of bests.filter((x) => !x.system.startsWith("nchan"))) {
    say(`\n${b.system}: ${ratio(b.best?.deliveriesPerS ?? 0, nBest)} nchan's best (goal: 1.5x)`);
  }
  raw.c = bests;
}

async function runIdle(): Promise<void> {
  say("\n### (d) idle memory per connection\n");
  say("| system | connections | edge processes | RSS before MB | RSS after MB | bytes per connection |");
  say("|---|---|---|---|---|---|");
  const rows: IdleResult[] = [];
  for (const n of args["idle-connections"].split(",").map((x) => scaled(Number(x)))) {
    // Each process holds at most ~20,000 sockets (open-file limit): enough processes on both sides.
    const workers = Math.max(edgeWorkers, Math.ceil(n / 15_000));
    for (const s of pick(nchan(workers), realer)) {
      const r = await withSystem(
        s,
        (sys) =>
          idle(sys, { connections: n, channels: 100, clientProcesses: Math.max(2, Math.ceil(n / 10_000)) }),
        workers,
      );
      rows.push(r);
      say(
        `| ${r.system} | ${num(r.connected)} of ${num(n)} | ${workers} | ${r.rssBeforeMB} | ${r.rssAfterMB} | ${num(r.bytesPerConnection)} |`,
      );
    }
  }
  for (let i = 0; i + 1 < rows.length; i += 2) {
    say(
      `\nat ${num(rows[i]!.connections)}: realer ${ratio(rows[i + 1]!.bytesPerConnection, rows[i]!.bytesPerConnection)} nchan's memory per idle connection (goal: at most 1.5x)`,
    );
  }
  raw.d = rows;
}

say(`## Edge benchmark (${full ? "full" : "quick"}), ${new Date().toISOString()}`);
say(
  `realer edge processes: ${edgeWorkers}; nchan workers: ${nchanWorkers.join(" and ")}; ${availableParallelism()} cores${scale !== 1 ? `; subscriber counts scaled by ${scale}` : ""}`,
);
/** The machine's load average: these figures mean little on a box busy with other work, so every report says it. */
const load = () =>
  say(
    `\nload average (1/5/15 min): ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" / ")} at ${new Date().toISOString()}`,
  );
load();
if (scenarios.has("a"))
  await runSteady("a", "1,000 subscribers, 10 channels, 1,000 msg/s", {
    subs: 1000,
    channels: 10,
    rate: 1000,
  });
if (scenarios.has("b"))
  await runSteady("b", "10,000 subscribers, 100 channels, 500 msg/s", {
    subs: 10_000,
    channels: 100,
    rate: 500,
  });
if (scenarios.has("c")) await runRising();
if (scenarios.has("d")) await runIdle();

load();
raw.loads = loads;
const dir = new URL("../.bench/", import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replaceAll(":", "-").slice(0, 19);
writeFileSync(`${dir}edge-${stamp}.md`, `${out.join("\n")}\n`);
writeFileSync(`${dir}edge-${stamp}.json`, JSON.stringify(raw, null, 2));
console.log(`\nwritten: .bench/edge-${stamp}.md and .json`);
process.exit(0);
