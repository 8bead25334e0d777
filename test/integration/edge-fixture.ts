/**
 * Edge test fixture: an edge (hub + HTTP app from createEdge) on a given
 * broker, listening on port 0, and helpers that store channel messages
 * straight into the channel stream (no worker needed).
 */
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import type { Counter } from "prom-client";
import type { Broker } from "../../src/broker/types.js";
import { ensureStreams } from "../../src/cli/components.js";
import type { RealerConfig } from "../../src/config/config.js";
import { createEdge, type Edge } from "../../src/edge/create-edge.js";
import { encodeChannelMessage } from "../../src/events/envelope.js";
import { createLogger } from "../../src/log/logger.js";
import { type SseClient, sseConnect } from "../helpers/sse-client.js";
import { testConfig } from "../helpers/stack.js";

export interface EdgeUnderTest extends Edge {
  cfg: RealerConfig;
  base: string;
  close(): Promise<void>;
}

export async function startTestEdge(
  broker: Broker,
  over: (c: RealerConfig) => void = () => {},
): Promise<EdgeUnderTest> {
  const cfg = testConfig((c) => {
    c.edge.drainSpreadMs = 200;
    c.edge.closeGraceMs = 2_000;
    over(c);
  });
  await ensureStreams(broker, cfg);
  const edge = await createEdge(broker, cfg, createLogger({ level: cfg.logLevel }));
  await edge.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = edge.app.server.address() as AddressInfo;
  let closed = false;
  return {
    ...edge,
    cfg,
    base: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await edge.app.close();
    },
  };
}

/** Opens an SSE stream on `e` for `channels`; `keep` collects the client for closing after the tests. */
export async function sseOn(
  e: { base: string },
  channels: readonly string[],
  headers: Record<string, string> = {},
  keep?: SseClient[],
): Promise<SseClient> {
  const c = await sseConnect(`${e.base}/v1/sse?${channels.map((ch) => `channel=${ch}`).join("&")}`, headers);
  keep?.push(c);
  return c;
}

/** Stores one channel message; resolves with its stream sequence. */
export async function publishTo(
  broker: Broker,
  cfg: RealerConfig,
  channel: string,
  text: string,
  type = "note",
): Promise<number> {
  const data = encodeChannelMessage({ channel, eventId: `e-${text}`, type, data: JSON.stringify({ text }) });
  return (await broker.publish(`${cfg.subjects.channels}.${channel}`, data)).seq;
}

/** The `text` each message frame carries. */
export const texts = (frames: { data: string }[]) =>
  frames.map((f) => (JSON.parse(f.data) as { data: { text: string } }).data.text);

/** The sequence of an SSE id (`<epoch>-<seq>`). */
export const seqOf = (id: string | undefined) => Number(String(id).split("-").pop());

/** Opens a request and answers its status and body (for refusals), keeping 200 streams open until `close()`. */
export function open(
  url: string,
  opts: { headers?: Record<string, string>; localAddress?: string; method?: string } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  close(): void;
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? "GET",
        headers: { accept: "text/event-stream", ...opts.headers },
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const done = (body: string) =>
          resolve({ status, headers: res.headers, body, close: () => req.destroy() });
        if (status === 200 && String(res.headers["content-type"]).startsWith("text/event-stream")) {
          done("");
          res.resume();
          return;
        }
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => done(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The sum of a counter's values whose labels include `labels`. */
export async function metric(c: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await c.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((n, v) => n + v.value, 0);
}
