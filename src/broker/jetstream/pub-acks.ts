/**
 * JetStream publishes that wait for the stream's PubAck, all answered on one
 * reply subscription.
 *
 * Why not `js.publish`: the v3 client makes every publish a request with its
 * own timer and deferred, and when the answer arrives it cancels the request
 * by building an Error (its stack captured) that nobody sees. In the worker at
 * 500 events/s that was about a tenth of its CPU. Here a publish costs an
 * entry in a map; one coarse interval fails the publishes left unanswered.
 *
 * Same wire protocol as the client's requests (a publish with a reply subject
 * under a private inbox), same answers: a PubAck, a JetStream API error, or
 * a 503 status when no stream takes the subject.
 */
import { JetStreamApiError } from "@nats-io/jetstream";
import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  RequestError,
  type Subscription,
  TimeoutError,
} from "@nats-io/transport-node";
import type { PubAck } from "../types.js";

/** How often unanswered publishes are looked for, ms. */
const SWEEP_MS = 500;

interface Waiting {
  resolve: (ack: PubAck) => void;
  reject: (err: Error) => void;
  subject: string;
  /** The sweep count at which it times out. */
  expires: number;
}

interface AckJson {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code: number; err_code?: number; description: string };
}

const decoder = new TextDecoder();

export class PubAcks {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #sub: Subscription;
  /** By reply token, in the order they were sent (so also in the order they expire). */
  readonly #waiting = new Map<string, Waiting>();
  readonly #sweeps: number;
  readonly #timer: NodeJS.Timeout;
  #sweep = 0;
  #next = 0;

  /** `timeoutMs`: how long a publish waits for its PubAck (rounded up to the sweep interval). */
  constructor(nc: NatsConnection, timeoutMs: number) {
    this.#nc = nc;
    this.#prefix = `${createInbox()}.`;
    this.#sweeps = Math.max(1, Math.ceil(timeoutMs / SWEEP_MS)) + 1;
    this.#sub = nc.subscribe(`${this.#prefix}*`, { callback: (err, m) => this.#answer(err, m) });
    this.#timer = setInterval(() => this.#expire(), SWEEP_MS);
    this.#timer.unref();
    void nc.closed().then(() => this.#failAll(new RequestError("connection closed")));
  }

  /** Publishes and resolves with the PubAck once the stream has stored the message. */
  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<PubAck> {
    const token = (this.#next++).toString(36);
    return new Promise<PubAck>((resolve, reject) => {
      this.#waiting.set(token, { resolve, reject, subject, expires: this.#sweep + this.#sweeps });
      try {
        this.#nc.publish(
          subject,
          data,
          headers ? { reply: this.#prefix + token, headers } : { reply: this.#prefix + token },
        );
      } catch (err) {
        this.#waiting.delete(token);
        reject(err as Error);
      }
    });
  }

  /** Publishes still waiting for their PubAck. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Stops the sweeps; publishes still waiting fail. Called once the connection is closed or drained. */
  close(): void {
    clearInterval(this.#timer);
    if (!this.#nc.isClosed()) this.#sub.unsubscribe();
    this.#failAll(new RequestError("connection closed"));
  }

  #answer(err: Error | null, m: Msg): void {
    if (err) {
      // The subscription itself failed (a permission error): nothing will be answered.
      this.#failAll(err);
      return;
    }
    const token = m.subject.slice(this.#prefix.length);
    const w = this.#waiting.get(token);
    if (!w) return;
    this.#waiting.delete(token);
    if (m.data.length === 0 && m.headers?.code === 503) {
      w.reject(new RequestError(`no stream takes ${w.subject} (503 no responders)`));
      return;
    }
    let r: AckJson;
    try {
      r = JSON.parse(decoder.decode(m.data)) as AckJson;
    } catch (e) {
      w.reject(e as Error);
      return;
    }
    if (r.error)
      w.reject(new JetStreamApiError(r.error as ConstructorParameters<typeof JetStreamApiError>[0]));
    else if (!r.stream || typeof r.seq !== "number") w.reject(new Error("invalid PubAck"));
    else w.resolve({ stream: r.stream, seq: r.seq, duplicate: r.duplicate === true });
  }

  #expire(): void {
    this.#sweep++;
    for (const [token, w] of this.#waiting) {
      if (w.expires > this.#sweep) break;
      this.#waiting.delete(token);
      w.reject(new TimeoutError());
    }
  }

  #failAll(err: Error): void {
    const all = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of all) w.reject(err);
  }
}
