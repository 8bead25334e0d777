/** `realer bench`: a load test of a realer deployment (or any SSE server), with progress, a summary, JSON and an HTML report. */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { BenchOptionInvalid, BenchRemoteTarget } from "../errors.js";
import { type BenchResult, runBench } from "../loadtest/bench.js";
import type { BenchOptions, Profile } from "../loadtest/options.js";
import { renderReport } from "../loadtest/report-html.js";
import type { ServerSource } from "../loadtest/server-stats.js";
import { progressLine, summary } from "./bench-format.js";
import { usage } from "./options.js";

/** "30s", "500ms", "2m", or a bare number of seconds, in ms. */
export function parseDuration(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) usage(`${flag} ${v} is not a duration: write e.g. 30s, 500ms or 2m`);
  const x = Number(m![1]);
  return Math.round(m![2] === "ms" ? x : m![2] === "m" ? x * 60_000 : x * 1000);
}

function number(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x)) usage(`${flag} ${v} is not a number`);
  return x;
}

function headers(flag: string, list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list) {
    const c = h.indexOf(":");
    if (c <= 0) usage(`${flag} ${h} is not a header: write "Name: value"`);
    out[h.slice(0, c).trim()] = h.slice(c + 1).trim();
  }
  return out;
}

function servers(pids: string[], urls: string[]): ServerSource[] {
  const named = (v: string, fallback: string) => {
    const eq = v.indexOf("=");
    return eq > 0 && !/^https?:/.test(v.slice(0, eq)) ? [v.slice(0, eq), v.slice(eq + 1)] : [fallback, v];
  };
  return [
    ...pids.map((p) => {
      const [name, pid] = named(p, `pid ${p}`);
      const n = Number(pid);
      if (!Number.isInteger(n) || n <= 0) usage(`--server-pid ${p} is not a process id`);
      return { name: name!, pid: n };
    }),
    ...urls.map((u) => {
      const [name, url] = named(u, u);
      return { name: name!, metricsUrl: url! };
    }),
  ];
}

const collect = (v: string, prev: string[]) => [...prev, v];

interface Flags {
  url: string;
  subscribers: string;
  channels?: string;
  profile: string;
  rate?: string;
  toRate?: string;
  rates?: string;
  duration?: string;
  step?: string;
  maxP99?: string;
  grace?: string;
  processes?: string;
  perAddress?: string;
  sseUrl?: string;
  sseHeader: string[];
  publishUrl?: string;
  body?: string;
  contentType?: string;
  publishConcurrency?: string;
  header: string[];
  apiKey?: string;
  channelName?: string;
  serverPid: string[];
  serverMetrics: string[];
  allowRemote: boolean;
  report: string | boolean;
  json: boolean;
  quiet: boolean;
}

export function benchOptionsFrom(f: Flags): Partial<BenchOptions> {
  if (!["steady", "ramp", "burst"].includes(f.profile))
    usage(`--profile ${f.profile}: use steady, ramp or burst`);
  const int = (flag: string, v: string | undefined) => {
    const x = number(flag, v);
    if (x !== undefined && !Number.isInteger(x)) usage(`${flag} ${v} is not a whole number`);
    return x;
  };
  // Flags not given are undefined here and left out below, so the defaults apply.
  const o: { [K in keyof BenchOptions]?: BenchOptions[K] | undefined } = {
    url: f.url,
    subscribers: int("--subscribers", f.subscribers)!,
    channels: int("--channels", f.channels),
    profile: f.profile as Profile,
    rate: number("--rate", f.rate),
    toRate: number("--to-rate", f.toRate),
    rates: f.rates?.split(",").map((r) => number("--rates", r)!),
    durationMs: f.duration ? parseDuration("--duration", f.duration) : undefined,
    stepMs: f.step ? parseDuration("--step", f.step) : undefined,
    maxP99Ms: f.maxP99 ? parseDuration("--max-p99", f.maxP99) : undefined,
    graceMs: f.grace ? parseDuration("--grace", f.grace) : undefined,
    processes: int("--processes", f.processes),
    perAddress: int("--per-address", f.perAddress),
    sseUrl: f.sseUrl,
    sseHeaders: headers("--sse-header", f.sseHeader),
    publishUrl: f.publishUrl,
    body: f.body,
    contentType: f.contentType,
    publishConcurrency: int("--publish-concurrency", f.publishConcurrency),
    headers: headers("--header", f.header),
    apiKey: f.apiKey,
    channelName: f.channelName,
    servers: servers(f.serverPid, f.serverMetrics),
    allowRemote: f.allowRemote,
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<BenchOptions>;
}

export async function runBenchCommand(f: Flags): Promise<BenchResult> {
  const options = benchOptionsFrom(f);
  const stopper = new AbortController();
  const onSigint = () => {
    if (stopper.signal.aborted) process.exit(130);
    process.stderr.write("\nrealer bench: stopping publishing (Ctrl-C again to quit at once)\n");
    stopper.abort();
  };
  process.on("SIGINT", onSigint);
  const tty = process.stderr.isTTY === true;
  let phase = "";
  try {
    return await runBench(options, {
      signal: stopper.signal,
      onPhase: (p) => {
        phase = p;
        if (!f.quiet && !tty) process.stderr.write(`realer bench: ${p}\n`);
      },
      onSecond: (s) => {
        if (f.quiet) return;
        const line = progressLine(s, phase, options.subscribers ?? 1000);
        // On a terminal one line is rewritten; in a log, one line every 5 seconds.
        if (tty) process.stderr.write(`\r\x1b[K${line}`);
        else if (s.t % 5 === 4) process.stderr.write(`${line}\n`);
      },
    });
  } catch (err) {
    // Option errors are usage errors: exit 2 with the message.
    if (err instanceof BenchOptionInvalid || err instanceof BenchRemoteTarget) usage(err.message);
    throw err;
  } finally {
    process.off("SIGINT", onSigint);
    if (tty && !f.quiet) process.stderr.write("\n");
  }
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("load-test a realer deployment or any SSE server: loss, duplicates, order, latency")
    .option(
      "--url <url>",
      "the deployment's base URL (relative URL templates resolve against it)",
      "http://127.0.0.1:8080",
    )
    .option("--subscribers <n>", "SSE connections", "1000")
    .option("--channels <n>", "channels (subscriber k watches channel k mod n; default 10, burst: 1)")
    .option("--profile <name>", "steady | ramp | burst", "steady")
    .option(
      "--rate <n>",
      "messages/s over all channels (ramp: at the start; burst: first step) (default: 100)",
    )
    .option("--to-rate <n>", "ramp: messages/s at the end (default: 10 x --rate)")
    .option("--rates <list>", "burst: the steps' rates, comma separated (default: --rate doubled 8 times)")
    .option("--duration <time>", "steady, ramp: how long to publish, e.g. 30s, 2m (default: 30s)")
    .option("--step <time>", "burst: how long each step lasts (default: 10s)")
    .option("--max-p99 <time>", "burst: a step with a p99 latency above this did not keep up (default: 1s)")
    .option(
      "--grace <time>",
      "after publishing, how long late messages may take before they count as lost (default: 10s)",
    )
    .option("--processes <n>", "subscriber processes (default: 2, one more per 15,000 subscribers)")
    .option("--per-address <n>", "most subscribers per source address 127.0.0.x (default: 500)")
    .option(
      "--sse-url <template>",
      "subscriber URL: {channel} {i} {sub} (default: /v1/sse?channel=thread:{channel})",
    )
    .option("--sse-header <header>", '"Name: value" sent by every subscriber (repeatable)', collect, [])
    .option(
      "--publish-url <template>",
      "publish URL: {channel} {i} {n} {t} {ms} {marker} {id} (default: /v1/events)",
    )
    .option("--body <template>", "publish body; must contain {marker} (default: a realer demo comment)")
    .option("--content-type <type>", "the publish body's content type (default: application/json)")
    .option("--header <header>", '"Name: value" sent with every publish (repeatable)', collect, [])
    .option(
      "--publish-concurrency <n>",
      "publishes of one channel in flight at once; above 1, reorderings among overlapping publishes are not counted (default: 1, burst: 16)",
    )
    .addOption(
      new Option("--api-key <key>", "ingest API key, sent as Authorization: Bearer").env("REALER_INGEST_KEY"),
    )
    .option("--channel-name <template>", "channel names: {i} (default: bench-{i})")
    .option(
      "--server-pid <[name=]pid>",
      "chart this process's (and its children's) CPU and memory (repeatable)",
      collect,
      [],
    )
    .option(
      "--server-metrics <[name=]url>",
      "chart CPU and memory from a Prometheus /metrics URL (repeatable)",
      collect,
      [],
    )
    .option("--allow-remote", "allow targets that are not on this machine (loopback)", false)
    .option("--report <file>", "write the HTML report here (default: realer-bench-<run id>.html)")
    .option("--no-report", "write no HTML report")
    .option("--json", "print the whole result as JSON on stdout", false)
    .option("--quiet", "no progress on stderr", false)
    .action(async (f: Flags) => {
      const result = await runBenchCommand(f);
      process.stdout.write(f.json ? `${JSON.stringify(result)}\n` : summary(result));
      if (f.report !== false) {
        const file = typeof f.report === "string" ? f.report : `realer-bench-${result.runId}.html`;
        writeFileSync(file, renderReport(result));
        process.stderr.write(`realer bench: report written to ${resolve(file)}\n`);
      }
    });
}
