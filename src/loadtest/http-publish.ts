/**
 * Publishing over HTTP from templates: realer's ingest (POST /v1/events with
 * an API key) by default, any server's publish endpoint otherwise. A publish
 * that fails for a passing reason (a network error, a timeout, 408, 429 or
 * 5xx) is sent again, the same body with the same id and stamp, as a
 * producer that retries would: realer stores it once (the id is its dedupe
 * id), and its latency counts from the first try. Other 4xx answers are not
 * retried: the target refuses what it is sent.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { marker } from "./marker.js";
import type { PublishOne } from "./publisher.js";
import type { Rendered } from "./template.js";

export interface HttpPublishOptions {
  /** Absolute URL per message. */
  url: Rendered;
  body: Rendered;
  method: string;
  headers: Record<string, string>;
  /** Channel names by index. */
  channels: readonly string[];
  /** Prefix of every message id, unique per run. */
  runId: string;
  /** Tries after the first. */
  retries: number;
  /** Delay before the first retry, doubled for each next one, ms. */
  retryDelayMs: number;
  /** A publish with no answer after this long fails (and may be retried), ms. */
  timeoutMs: number;
}

/** An answer that is not retried: the target refuses the publish. */
export interface Refusal {
  status: number;
  body: string;
}

const passing = (status: number) => status === 408 || status === 429 || status >= 500;

export class HttpPublisher {
  /** Publishes sent again after a passing failure. */
  retries = 0;
  accepted = 0;
  /** The first refusal (a 4xx other than 408 and 429), if any. */
  refusal: Refusal | undefined;
  readonly #o: HttpPublishOptions;
  readonly #http = new HttpAgent({ keepAlive: true, maxSockets: 256 });
  readonly #https = new HttpsAgent({ keepAlive: true, maxSockets: 256 });
  readonly #urls = new Map<string, URL>();

  constructor(o: HttpPublishOptions) {
    this.#o = o;
  }

  readonly publish: PublishOne = async (i, n, t, w) => {
    const o = this.#o;
    const vars = {
      channel: o.channels[i]!,
      i,
      n,
      t,
      ms: Math.floor(t / 1000),
      marker: marker(i, n, t, w),
      id: `${o.runId}-${i}-${n}`,
    };
    const href = o.url(vars);
    let url = this.#urls.get(href);
    if (!url) {
      url = new URL(href);
      this.#urls.set(href, url);
    }
    const body = o.body(vars);
    for (let attempt = 0; ; attempt++) {
      const status = await this.#send(url, body);
      if (status >= 200 && status < 300) {
        this.accepted++;
        return true;
      }
      if (status > 0 && !passing(status)) return false;
      if (attempt >= o.retries) return false;
      this.retries++;
      await new Promise((r) => setTimeout(r, o.retryDelayMs * 2 ** attempt));
    }
  };

  /** Resolves with the status, or 0 for a network error or a timeout. */
  #send(url: URL, body: string): Promise<number> {
    const tls = url.protocol === "https:";
    return new Promise((resolve) => {
      const req = (tls ? httpsRequest : httpRequest)(
        url,
        {
          method: this.#o.method,
          agent: tls ? this.#https : this.#http,
          timeout: this.#o.timeoutMs,
          headers: { ...this.#o.headers, "content-length": Buffer.byteLength(body) },
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          const refused = status >= 400 && !passing(status) && !this.refusal;
          let text = "";
          if (refused) res.setEncoding("utf8").on("data", (d: string) => (text = (text + d).slice(0, 500)));
          else res.resume();
          res.once("end", () => {
            if (refused && !this.refusal) this.refusal = { status, body: text };
            resolve(status);
          });
          res.once("error", () => resolve(0));
        },
      );
      req.once("timeout", () => req.destroy(new Error("timeout")));
      req.once("error", () => resolve(0));
      req.end(body);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
