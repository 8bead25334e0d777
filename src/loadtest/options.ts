/**
 * A load test's options: every field with its default and unit, and
 * `compileBenchOptions`, which checks them (without changing its input),
 * resolves the target and refuses one that is not on this machine unless
 * `allowRemote` says so.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { BenchOptionInvalid, BenchRemoteTarget } from "../errors.js";
import type { StreamTarget, SubscriberSpec } from "./protocol.js";
import type { ServerSource } from "./server-stats.js";
import { compileTemplate, MESSAGE_VARS, type Rendered, SUBSCRIBER_VARS } from "./template.js";

export type Profile = "steady" | "ramp" | "burst";

export interface BenchOptions {
  /** Base URL of the deployment; relative URL templates resolve against it. Default `http://127.0.0.1:8080`. */
  url: string;
  /** Subscribers (SSE connections). Default 1,000. */
  subscribers: number;
  /** Channels; subscriber k watches channel k mod channels. Default 10 (steady, ramp), 1 (burst: the only choice). */
  channels?: number;
  /** steady: `rate` for `durationMs`; ramp: `rate` rising to `toRate`; burst: one channel, `rates` in steps until one does not keep up. */
  profile: Profile;
  /** Messages/s over all channels (ramp: the start). Default 100. */
  rate: number;
  /** Ramp: messages/s at the end. Default 10 x `rate`. */
  toRate?: number;
  /** Burst: the rates of the steps, messages/s. Default `rate` doubled 8 times. */
  rates?: number[];
  /** Steady and ramp: how long to publish, ms. Default 30,000. */
  durationMs: number;
  /** Burst: how long each step publishes, ms. Default 10,000. */
  stepMs: number;
  /** Burst: a step whose p99 latency passes this did not keep up, ms. Default 1,000. */
  maxP99Ms: number;
  /** After publishing, how long messages still missing may take to arrive, ms. Default 10,000. */
  graceMs: number;
  /** Subscriber processes. Default: 2, more past 15,000 subscribers (one process holds at most 19,000). */
  processes?: number;
  /** Most subscribers per source address (127.0.0.x): realer's edge allows 1,000 per address by default. Default 500. */
  perAddress: number;
  /** Subscriber URL template ({channel}, {i}, {sub}). Default `/v1/sse?channel=thread:{channel}`. */
  sseUrl: string;
  /** Extra request headers of every subscriber. Default none. */
  sseHeaders: Record<string, string>;
  /** Publish URL template ({channel}, {i}, {n}, {t}, {ms}, {marker}, {id}). Default `/v1/events` (realer's HTTP ingest). */
  publishUrl: string;
  /** Default POST. */
  publishMethod: string;
  /** Publish body template; it must contain {marker}. Default: a realer demo comment whose id is the marker. */
  body: string;
  /** Content type of the body. Default `application/json`. */
  contentType: string;
  /** Extra headers of every publish. Default none. */
  headers: Record<string, string>;
  /** Sent as `Authorization: Bearer <key>` with every publish (realer's REALER_INGEST_KEYS). */
  apiKey?: string;
  /** Channel name template ({i}). Default `bench-{i}`. */
  channelName: string;
  /**
   * Publishes of one channel in flight at once. 1 sends each once the one
   * before was answered, so every reordering counted is the server's; more
   * lets one channel take a higher rate than one round trip allows (as many
   * producers posting to one channel do; reorderings among overlapping
   * publishes are then not counted). Default 1 (steady, ramp), 16 (burst:
   * one busy channel, whose rate must not be capped by one round trip).
   */
  publishConcurrency?: number;
  /** Tries after the first for a publish that failed for a passing reason. Default 3. */
  publishRetries: number;
  /** Delay before the first publish retry, doubled for each next one, ms. Default 100. */
  publishRetryDelayMs: number;
  /** A publish with no answer after this long fails, ms. Default 10,000. */
  publishTimeoutMs: number;
  /** Subscribers' reconnect delay until a stream sets one with `retry:`, ms. Default 1,000. */
  retryMs: number;
  /** Longest delay between a subscriber's failed attempts, ms. Default 30,000. */
  maxBackoffMs: number;
  /** An attempt with no response head after this long fails, ms. Default 10,000. */
  connectTimeoutMs: number;
  /** How long to wait for every subscriber's stream to open before publishing, ms. Default 60,000. */
  readyWithinMs: number;
  /** Server processes (pid, with descendants) or /metrics URLs to chart CPU and memory of. Default none. */
  servers: ServerSource[];
  /** Allow targets that are not loopback addresses. Default false. */
  allowRemote: boolean;
}

export const DEFAULT_BODY =
  '{"type":"comments.v1.CommentCreated","key":"thread:{channel}","id":"{id}",' +
  '"data":{"comment":{"id":"{marker}","threadId":"{channel}","author":"bench","text":"","createdAt":{ms}}}}';

export function defaultBenchOptions(): BenchOptions {
  return {
    url: "http://127.0.0.1:8080",
    subscribers: 1000,
    profile: "steady",
    rate: 100,
    durationMs: 30_000,
    stepMs: 10_000,
    maxP99Ms: 1_000,
    graceMs: 10_000,
    perAddress: 500,
    sseUrl: "/v1/sse?channel=thread:{channel}",
    sseHeaders: {},
    publishUrl: "/v1/events",
    publishMethod: "POST",
    body: DEFAULT_BODY,
    contentType: "application/json",
    headers: {},
    channelName: "bench-{i}",
    publishRetries: 3,
    publishRetryDelayMs: 100,
    publishTimeoutMs: 10_000,
    retryMs: 1_000,
    maxBackoffMs: 30_000,
    connectTimeoutMs: 10_000,
    readyWithinMs: 60_000,
    servers: [],
    allowRemote: false,
  };
}

/** One process holds at most this many subscribers (the open-file limit is 20,000 here). */
export const MAX_PER_PROCESS = 19_000;
/** Source addresses 127.0.0.2 to 127.0.0.254. */
const LOOPBACK_SOURCES = 253;

export interface CompiledBench {
  o: BenchOptions & {
    channels: number;
    processes: number;
    toRate: number;
    rates: number[];
    publishConcurrency: number;
  };
  channelNames: string[];
  target: StreamTarget;
  subscribers: SubscriberSpec[];
  /** How many 127.0.0.x source addresses to use (0: the system picks, the target is not on IPv4 loopback). */
  sourceAddresses: number;
  publishUrl: Rendered;
  body: Rendered;
  publishHeaders: Record<string, string>;
  /** The target's URL for messages, e.g. http://127.0.0.1:8080/v1/sse?channel=... of subscriber 0. */
  sseExample: string;
}

const bad = (message: string): never => {
  throw new BenchOptionInvalid(message);
};

function positiveInt(name: string, v: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < 1 || v > max)
    bad(`${name} must be a whole number from 1 to ${max}, not ${v}`);
}

function positive(name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0) bad(`${name} must be a number above 0, not ${v}`);
}

function nonNegative(name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) bad(`${name} must be a number of 0 or more, not ${v}`);
}

const isLoopback = (address: string) =>
  (isIP(address) === 4 && address.startsWith("127.")) || address === "::1" || address === "::ffff:127.0.0.1";

/** Resolves `url`'s host; refuses an address that is not loopback unless allowed. Returns the address to use. */
async function resolveHost(what: string, url: URL, allowRemote: boolean): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch (err) {
    return bad(`${what}: cannot resolve ${host}: ${(err as Error).message}`);
  }
  const remote = addresses.find((a) => !isLoopback(a));
  if (remote !== undefined && !allowRemote) throw new BenchRemoteTarget(`${what} ${url.origin}`, remote);
  return addresses.find((a) => isIP(a) === 4) ?? addresses[0]!;
}

function absolute(what: string, base: string, href: string): URL {
  try {
    const u = new URL(href, base);
    if (u.protocol !== "http:" && u.protocol !== "https:")
      bad(`${what} must be an http or https URL: ${href}`);
    return u;
  } catch (err) {
    if ((err as { code?: string }).code === "REALER_ERR_BENCH_OPTION_INVALID") throw err;
    return bad(`${what} is not a URL: ${href}`);
  }
}

function template(what: string, text: string, allowed: typeof MESSAGE_VARS, encode: boolean): Rendered {
  try {
    return compileTemplate(what, text, allowed, encode);
  } catch (err) {
    return bad((err as Error).message);
  }
}

/** Checks `input` over the defaults and resolves the target. Throws REALER_ERR_BENCH_* errors. */
export async function compileBenchOptions(input: Partial<BenchOptions> = {}): Promise<CompiledBench> {
  const d = defaultBenchOptions();
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const o = { ...d, ...given } as BenchOptions;
  if (!["steady", "ramp", "burst"].includes(o.profile))
    bad(`profile must be steady, ramp or burst, not ${o.profile}`);
  positiveInt("subscribers", o.subscribers);
  const channels = o.channels ?? (o.profile === "burst" ? 1 : Math.min(10, o.subscribers));
  positiveInt("channels", channels, o.subscribers);
  if (o.profile === "burst" && channels !== 1)
    bad("the burst profile puts every subscriber on one channel: leave channels at 1");
  positive("rate", o.rate);
  const toRate = o.toRate ?? o.rate * 10;
  positive("toRate", toRate);
  const rates = o.rates ?? Array.from({ length: 9 }, (_, k) => o.rate * 2 ** k);
  if (rates.length === 0) bad("rates must name at least one rate");
  for (const r of rates) positive("rates", r);
  positive("durationMs", o.durationMs);
  positive("stepMs", o.stepMs);
  positive("maxP99Ms", o.maxP99Ms);
  nonNegative("graceMs", o.graceMs);
  positiveInt("perAddress", o.perAddress);
  const processes = o.processes ?? Math.min(o.subscribers, Math.max(2, Math.ceil(o.subscribers / 15_000)));
  positiveInt("processes", processes, o.subscribers);
  if (Math.ceil(o.subscribers / processes) > MAX_PER_PROCESS) {
    bad(
      `${o.subscribers} subscribers over ${processes} processes is ${Math.ceil(o.subscribers / processes)} ` +
        `per process; one process holds at most ${MAX_PER_PROCESS} (open-file limit): raise processes`,
    );
  }
  const publishConcurrency = o.publishConcurrency ?? (o.profile === "burst" ? 16 : 1);
  positiveInt("publishConcurrency", publishConcurrency, 1024);
  nonNegative("publishRetries", o.publishRetries);
  for (const [k, v] of Object.entries({
    publishRetryDelayMs: o.publishRetryDelayMs,
    publishTimeoutMs: o.publishTimeoutMs,
    retryMs: o.retryMs,
    maxBackoffMs: o.maxBackoffMs,
    connectTimeoutMs: o.connectTimeoutMs,
    readyWithinMs: o.readyWithinMs,
  }))
    nonNegative(k, v);
  if (!/^[A-Z]+$/.test(o.publishMethod))
    bad(`publishMethod must be an HTTP method such as POST, not ${o.publishMethod}`);
  if (!o.body.includes("{marker}"))
    bad("the body template must contain {marker}: subscribers find messages by it");

  const base = absolute("url", "http://invalid/", o.url).href;
  const channelName = template("channelName", o.channelName, ["i"], false);
  const channelNames = Array.from({ length: channels }, (_, i) => channelName({ i }));
  if (new Set(channelNames).size !== channels)
    bad("channelName must contain {i}: channels need distinct names");
  const sse = template("sseUrl", o.sseUrl, SUBSCRIBER_VARS, true);
  const subscribers: SubscriberSpec[] = [];
  let origin = "";
  let sseExample = "";
  for (let id = 0; id < o.subscribers; id++) {
    const i = id % channels;
    const u = absolute("sseUrl", base, sse({ channel: channelNames[i]!, i, sub: id }));
    if (id === 0) {
      origin = u.origin;
      sseExample = u.href;
    } else if (u.origin !== origin) bad("sseUrl must name one host and port for every subscriber");
    subscribers.push({ id, channel: i, path: `${u.pathname}${u.search}` });
  }
  const sseUrl = new URL(sseExample);
  const address = await resolveHost("sseUrl", sseUrl, o.allowRemote);
  const publishTemplate = template("publishUrl", o.publishUrl, MESSAGE_VARS, true);
  const publishUrl: Rendered = (v) => new URL(publishTemplate(v), base).href;
  const publishExample = absolute(
    "publishUrl",
    base,
    publishTemplate({ channel: channelNames[0]!, i: 0, n: 0, t: 0, ms: 0, marker: "", id: "" }),
  );
  await resolveHost("publishUrl", publishExample, o.allowRemote);
  for (const s of o.servers) {
    if (s.metricsUrl)
      await resolveHost("server metrics", absolute("server metrics", base, s.metricsUrl), o.allowRemote);
    if (s.pid !== undefined) positiveInt("server pid", s.pid);
  }
  const headerLine = (k: string, v: string) => {
    if (/[\r\n]/.test(k + v) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k))
      bad(`header ${k} is not a valid header`);
    return `${k}: ${v}\r\n`;
  };
  const extraHeaders = Object.entries(o.sseHeaders)
    .map(([k, v]) => headerLine(k, v))
    .join("");
  for (const [k, v] of Object.entries(o.headers)) headerLine(k, v);
  const onLoopback4 = isIP(address) === 4 && address.startsWith("127.");
  const sourceAddresses = onLoopback4 ? Math.ceil(o.subscribers / o.perAddress) : 0;
  if (sourceAddresses > LOOPBACK_SOURCES) {
    bad(
      `${o.subscribers} subscribers at ${o.perAddress} per address need ${sourceAddresses} source addresses; ` +
        `127.0.0.x has ${LOOPBACK_SOURCES}: raise perAddress`,
    );
  }
  return {
    o: { ...o, channels, processes, toRate, rates, publishConcurrency },
    channelNames,
    target: {
      address,
      port: Number(sseUrl.port || (sseUrl.protocol === "https:" ? 443 : 80)),
      tls: sseUrl.protocol === "https:",
      hostHeader: sseUrl.host,
      extraHeaders,
    },
    subscribers,
    sourceAddresses,
    publishUrl,
    body: template("body", o.body, MESSAGE_VARS, false),
    publishHeaders: {
      "content-type": o.contentType,
      ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}),
      ...o.headers,
    },
    sseExample,
  };
}
