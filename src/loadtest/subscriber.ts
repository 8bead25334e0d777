/**
 * One subscriber that behaves like a browser's EventSource, over a raw
 * socket (an HTTP/1.1 GET with `Accept: text/event-stream`): when its stream
 * ends (the server closed it, after an `error` or `drain` frame or not) it
 * reconnects after the stream's `retry:` delay, sending the last id it saw
 * as Last-Event-ID. Unlike a browser, which gives up on an HTTP error, it
 * keeps trying, backing off (as realer's client.js does), so a run can
 * measure how a deployment recovers.
 *
 * It accounts for the markers (marker.ts) of its one channel in a
 * SequenceTally and reports every arrival, open, close and control frame to
 * its process.
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { ResponseReader } from "./http-stream.js";
import { nowUs } from "./marker.js";
import type { StreamTarget, SubscriberSpec } from "./protocol.js";
import { SseParser } from "./sse-parser.js";
import { type Arrival, SequenceTally } from "./tally.js";

export interface SubscriberEvents {
  arrival(n: number, tUs: number, atUs: number, kind: Arrival): void;
  stray(): void;
  control(type: "reset" | "error" | "drain"): void;
  opened(reconnect: boolean): void;
  failed(reason: string): void;
  closed(): void;
}

export interface SubscriberTiming {
  retryMs: number;
  maxBackoffMs: number;
  connectTimeoutMs: number;
}

export class Subscriber {
  readonly spec: SubscriberSpec;
  readonly tally = new SequenceTally();
  connects = 0;
  failures = 0;
  closes = 0;
  resets = 0;
  errors = 0;
  drains = 0;
  strays = 0;
  open = false;
  firstOpenMs = 0;
  readonly #target: StreamTarget;
  readonly #localAddress: string | undefined;
  readonly #timing: SubscriberTiming;
  readonly #events: SubscriberEvents;
  readonly #parser: SseParser;
  #socket: Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failuresInRow = 0;
  #atUs = 0;

  constructor(
    spec: SubscriberSpec,
    target: StreamTarget,
    localAddress: string | undefined,
    timing: SubscriberTiming,
    events: SubscriberEvents,
  ) {
    this.spec = spec;
    this.#target = target;
    this.#localAddress = localAddress;
    this.#timing = timing;
    this.#events = events;
    this.#parser = new SseParser((type, m, count) => this.#onEvent(type, m, count));
  }

  get reconnects(): number {
    return Math.max(0, this.connects - 1);
  }

  get lastEventId(): string {
    return this.#parser.lastEventId;
  }

  /** Makes one attempt; resolves with an error message when it failed, or undefined when the stream opened. */
  connect(): Promise<string | undefined> {
    return new Promise((settle) => {
      let settled = false;
      const done = (r: string | undefined) => {
        if (settled) return;
        settled = true;
        settle(r);
      };
      const t = this.#target;
      const opts = { host: t.address, port: t.port, localAddress: this.#localAddress };
      const socket = t.tls
        ? tlsConnect({ ...opts, servername: t.hostHeader.replace(/:\d+$/, "") })
        : netConnect(opts);
      this.#socket = socket;
      this.#parser.restart();
      let opened = false;
      let failure = "closed before the response";
      const reader = new ResponseReader((b) => this.#parser.feed(b));
      const timeout = setTimeout(() => {
        failure = `no response within ${this.#timing.connectTimeoutMs} ms`;
        socket.destroy();
      }, this.#timing.connectTimeoutMs);
      socket.setNoDelay(true);
      socket.on("data", (chunk: Buffer) => {
        this.#atUs = nowUs();
        try {
          const head = reader.feed(chunk);
          if (head) {
            clearTimeout(timeout);
            const type = head.headers["content-type"] ?? "";
            if (head.status !== 200 || !type.includes("text/event-stream")) {
              failure = head.status === 200 ? `200 with content-type ${type || "none"}` : head.statusLine;
              socket.destroy();
              return;
            }
            opened = true;
            this.#opened();
            done(undefined);
            reader.accept();
          }
          if (reader.ended) socket.destroy();
        } catch (err) {
          failure = (err as Error).message;
          socket.destroy();
        }
      });
      socket.on("error", (err) => {
        failure = err.message;
      });
      socket.on("close", () => {
        clearTimeout(timeout);
        if (this.#socket === socket) this.#socket = undefined;
        if (opened) this.#closed();
        else this.#failed(failure);
        done(failure);
      });
      const lastId = this.#parser.lastEventId;
      socket.write(
        `GET ${this.spec.path} HTTP/1.1\r\nHost: ${t.hostHeader}\r\nAccept: text/event-stream\r\n` +
          `Cache-Control: no-cache\r\n${lastId ? `Last-Event-ID: ${lastId}\r\n` : ""}${t.extraHeaders}\r\n`,
      );
    });
  }

  /** Closes the stream for good: no reconnect. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.destroy();
  }

  #opened(): void {
    this.open = true;
    this.connects++;
    this.#failuresInRow = 0;
    if (!this.firstOpenMs) this.firstOpenMs = Date.now();
    this.#events.opened(this.connects > 1);
  }

  #closed(): void {
    this.open = false;
    this.closes++;
    this.#events.closed();
    this.#reconnectIn(this.#parser.retryMs ?? this.#timing.retryMs);
  }

  #failed(reason: string): void {
    this.failures++;
    this.#events.failed(reason);
    const k = this.#failuresInRow++;
    const base = this.#parser.retryMs ?? this.#timing.retryMs;
    const ceiling = Math.min(this.#timing.maxBackoffMs, base * 2 ** Math.min(k, 20));
    // Jitter in [ceiling/2, ceiling]: a fleet that failed together does not come back together.
    this.#reconnectIn(ceiling * (0.5 + Math.random() / 2));
  }

  #reconnectIn(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.connect(), ms);
  }

  #onEvent(type: string, m: readonly number[], count: number): void {
    if (type === "reset") this.resets++;
    else if (type === "error") this.errors++;
    else if (type === "drain") this.drains++;
    if (type === "reset" || type === "error" || type === "drain") this.#events.control(type);
    for (let i = 0; i < count * 4; i += 4) {
      if (m[i] !== this.spec.channel) {
        this.strays++;
        this.#events.stray();
        continue;
      }
      const n = m[i + 1]!;
      this.#events.arrival(n, m[i + 2]!, this.#atUs, this.tally.record(n, m[i + 3]!));
    }
  }
}
