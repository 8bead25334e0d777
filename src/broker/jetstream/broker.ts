/**
 * The production broker: NATS JetStream through the @nats-io v3 clients.
 * Written for nats-server 2.9 and later (no multi-subject filters, no
 * term reasons: see docs/architecture.md).
 */
import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  DiscardPolicy,
  type FetchMessages,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import {
  connect,
  type MsgHdrs,
  type NatsConnection,
  nanos,
  headers as natsHeaders,
} from "@nats-io/transport-node";
import { BrokerUnavailable } from "../../errors.js";
import type {
  Broker,
  ConsumerSpec,
  Fetch,
  FetchOptions,
  LiveSubjectSource,
  LiveSubjects,
  PubAck,
  PublishOptions,
  ReadOptions,
  StoredMessage,
  StreamSpec,
  StreamState,
} from "../types.js";
import { JetStreamAdmin, MIN_EXPIRES_MS } from "./admin.js";
import { isNotFound, notFoundAs, replicasRefused, throughElections } from "./errors.js";
import { liveSubjectSource } from "./live.js";
import { JsDelivery, toStored } from "./messages.js";
import { PubAcks } from "./pub-acks.js";
import { parseServers } from "./server-urls.js";
import { readRange, type StreamReadDeps } from "./stream-read.js";

const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

/** A StreamSpec limit in JetStream's terms: absent or 0 is `none`. */
const limitOr = (v: number | undefined, none: number): number => (v !== undefined && v > 0 ? v : none);
/** How long a publish waits for the stream to store it (the v3 client's default for JetStream requests), ms. */
const PUBLISH_TIMEOUT_MS = 5_000;
/**
 * How long a read waits for its consumer to be created before asking the stream's leader instead, ms:
 * a consumer placed on a dead peer is never created (stream-read.ts).
 */
const READ_CONSUMER_TIMEOUT_MS = 2_000;

/** Each broker's connection, for tests only (`natsConnectionOf`): the broker keeps it private. */
const connections = new WeakMap<JetStreamBroker, NatsConnection>();

/** The NATS connection under `broker`: a test-only handle (tests that talk to nats-server directly). */
export function natsConnectionOf(broker: JetStreamBroker): NatsConnection {
  return connections.get(broker)!;
}

export interface JetStreamBrokerOptions {
  /** NATS server URL(s), e.g. "nats://127.0.0.1:4222", with credentials if any: "nats://user:password@host:4222". */
  servers: string | string[];
  /** Connection name shown by the server's monitoring. */
  name?: string;
}

export class JetStreamBroker extends JetStreamAdmin implements Broker, LiveSubjects {
  readonly #nc: NatsConnection;
  readonly #consumers = new Map<string, Promise<Consumer>>();
  readonly #pubAcks: PubAcks;
  readonly #readDeps: StreamReadDeps;
  #connected = true;
  /** Told of every disconnect and reconnect (live subject sources). */
  readonly #statusListeners = new Set<(why: "disconnect" | "reconnect") => void>();

  private constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager) {
    super(js, jsm);
    this.#nc = nc;
    connections.set(this, nc);
    this.#pubAcks = new PubAcks(nc, PUBLISH_TIMEOUT_MS);
    this.#readDeps = {
      js,
      streamState: (stream) => this.streamState(stream),
      nextFromLeader: (stream, seq, subject) =>
        // The client's typing lacks next_by_subj, which nats-server (2.9 and later) takes.
        this.getStored(stream, { seq, next_by_subj: subject ?? ">" } as never),
      toStored,
    };
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") this.#connected = false;
        else if (s.type === "reconnect") this.#connected = true;
        else continue;
        for (const fn of this.#statusListeners) fn(s.type);
      }
    })();
  }

  /** Up from connect to close, but while the client is reconnecting. */
  get connected(): boolean {
    return this.#connected && !this.#nc.isClosed();
  }

  static async connect(opts: JetStreamBrokerOptions): Promise<JetStreamBroker> {
    const { shown, ...servers } = parseServers(opts.servers);
    let nc: NatsConnection;
    try {
      nc = await connect({ ...servers, name: opts.name ?? "realer", maxReconnectAttempts: -1 });
    } catch (err) {
      throw new BrokerUnavailable(`${shown}: ${(err as Error).message}`, { cause: err });
    }
    try {
      // Asks the server for the account's JetStream: fails while a cluster has no meta leader yet.
      const jsm = await jetstreamManager(nc);
      return new JetStreamBroker(nc, jetstream(nc), jsm);
    } catch (err) {
      // The connection would otherwise reconnect forever, with nothing to close it.
      await nc.close();
      throw new BrokerUnavailable(`${shown}: JetStream: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async ensureStream(spec: StreamSpec): Promise<void> {
    const cfg = {
      name: spec.name,
      subjects: spec.subjects,
      max_age: nanos(limitOr(spec.maxAgeMs, 0)),
      max_msgs: limitOr(spec.maxMsgs, -1),
      max_bytes: limitOr(spec.maxBytes, -1),
      max_msgs_per_subject: limitOr(spec.maxMsgsPerSubject, -1),
      duplicate_window: nanos(spec.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
      storage: spec.storage === "memory" ? StorageType.Memory : StorageType.File,
      num_replicas: spec.replicas ?? 1,
      discard: DiscardPolicy.Old,
      ...(spec.republish ? { republish: { src: ">", dest: `${spec.republish}.>` } } : {}),
    };
    try {
      await throughElections(() => this.#createOrUpdate(spec.name, cfg));
    } catch (err) {
      throw replicasRefused(spec, err) ?? err;
    }
  }

  async #createOrUpdate(name: string, cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
    let existing: StreamInfo;
    try {
      existing = await this.jsm.streams.info(name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.jsm.streams.add(cfg);
      return;
    }
    const { storage: _immutable, ...mutable } = cfg;
    try {
      await this.jsm.streams.update(name, mutable);
    } catch (err) {
      // nats-server 2.9 refuses to change RePublish on an existing stream: keep
      // what it has (its tails read through a consumer, as before).
      if (!(err instanceof JetStreamApiError) || !/RePublish/i.test(err.message)) throw err;
      const { republish: _r, ...rest } = mutable;
      const kept = existing.config.republish;
      await this.jsm.streams.update(name, kept ? { ...rest, republish: kept } : rest);
    }
  }

  /** The stream's info; StreamNotFound when there is none. */
  async #info(stream: string): Promise<StreamInfo> {
    try {
      return await this.jsm.streams.info(stream);
    } catch (err) {
      throw notFoundAs(err, stream);
    }
  }

  async streamState(stream: string): Promise<StreamState> {
    const info = await this.#info(stream);
    const { state } = info;
    return {
      created: Date.parse(info.created),
      name: stream,
      messages: state.messages,
      bytes: state.bytes,
      firstSeq: state.messages === 0 ? state.last_seq + 1 : state.first_seq,
      lastSeq: state.last_seq,
      replicas: info.config.num_replicas || 1,
      ...(info.cluster?.leader && info.cluster.replicas
        ? {
            cluster: {
              leader: info.cluster.leader,
              followers: info.cluster.replicas.map((r) => ({
                name: r.name,
                current: r.current,
                offline: r.offline === true,
                lag: r.lag ?? 0,
              })),
            },
          }
        : {}),
    };
  }

  /** Stores one message; resolves once the stream has it (pub-acks.ts: why not `js.publish`). */
  publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<PubAck> {
    let h: MsgHdrs | undefined;
    if (opts?.headers) {
      h = natsHeaders();
      for (const [k, v] of Object.entries(opts.headers)) h.set(k, v);
    }
    if (opts?.msgId) {
      h ??= natsHeaders();
      h.set("Nats-Msg-Id", opts.msgId);
    }
    return this.#pubAcks.publish(subject, data, h);
  }

  ensureConsumer(spec: ConsumerSpec): Promise<void> {
    return throughElections(() => this.#ensureConsumer(spec));
  }

  async #ensureConsumer(spec: ConsumerSpec): Promise<void> {
    const cfg = {
      durable_name: spec.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(spec.ackWaitMs),
      max_deliver: spec.maxDeliver,
      max_ack_pending: spec.maxAckPending,
      ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
    };
    try {
      await this.jsm.consumers.info(spec.stream, spec.durable);
    } catch (err) {
      if (!isNotFound(err, spec.durable)) throw err;
      if (isNotFound(err)) throw notFoundAs(err, spec.stream);
      await this.jsm.consumers.add(spec.stream, cfg);
      return;
    }
    const { durable_name: _n, ack_policy: _a, deliver_policy: _d, ...mutable } = cfg;
    await this.jsm.consumers.update(spec.stream, spec.durable, mutable);
  }

  #consumer(stream: string, durable: string): Promise<Consumer> {
    const key = `${stream}/${durable}`;
    let consumer = this.#consumers.get(key);
    if (!consumer) {
      consumer = this.js.consumers.get(stream, durable);
      this.#consumers.set(key, consumer);
      consumer.catch(() => this.#consumers.delete(key));
    }
    return consumer;
  }

  fetch(stream: string, durable: string, opts: FetchOptions): Fetch {
    const pullOpts = {
      max_messages: Math.max(1, opts.max),
      expires: Math.max(MIN_EXPIRES_MS, opts.expiresMs),
    };
    const signal = opts.signal;
    /** Opens the pull (with `callback`, in the client's callback mode); `release` undoes the abort wiring. */
    const open = async (callback?: (m: JsMsg) => void) => {
      const consumer = await this.#consumer(stream, durable);
      const iter = await consumer.fetch(callback ? ({ ...pullOpts, callback } as FetchMessages) : pullOpts);
      const stop = () => iter.stop();
      signal?.addEventListener("abort", stop, { once: true });
      return { iter, release: () => signal?.removeEventListener("abort", stop) };
    };
    return {
      async *[Symbol.asyncIterator]() {
        if (signal?.aborted) return;
        const { iter, release } = await open();
        try {
          for await (const m of iter) yield new JsDelivery(m);
        } finally {
          release();
        }
      },
      // The client's callback mode: each message is handed over as the
      // socket's data is parsed, with no async iterator (two of them, with
      // a promise and a microtask each, per delivery) in between.
      async each(fn) {
        if (signal?.aborted) return;
        const { iter, release } = await open((m) => fn(new JsDelivery(m)));
        try {
          const err = await iter.closed();
          if (err) throw err;
        } finally {
          release();
        }
      },
    };
  }

  /** Every message of the range, whatever peer of a cluster would serve it (stream-read.ts). */
  read(stream: string, opts: ReadOptions): AsyncIterable<StoredMessage> {
    return readRange(this.#readDeps, { ...opts, stream, createTimeoutMs: READ_CONSUMER_TIMEOUT_MS });
  }

  /** Where the stream republishes all it stores ("<prefix>.>"), if it does. */
  async #republishedTo(stream: string): Promise<string | undefined> {
    const rp = (await this.#info(stream)).config.republish;
    return rp && (rp.src === ">" || rp.src === undefined || rp.src === "") && !rp.headers_only
      ? rp.dest
      : undefined;
  }

  async liveSubjects(stream: string): Promise<LiveSubjectSource | undefined> {
    const dest = await this.#republishedTo(stream);
    if (!dest) return undefined;
    return liveSubjectSource({
      nc: this.#nc,
      stream,
      dest,
      statusListeners: this.#statusListeners,
      read: (fromSeq, toSeq, subject) =>
        this.read(stream, { fromSeq, toSeq, ...(subject !== undefined ? { subject } : {}) }),
      lastSeq: async () => (await this.streamState(stream)).lastSeq,
    });
  }

  /** Core NATS publish: not stored, never redelivered (the `Signals` capability). */
  signal(subject: string, data: Uint8Array): void {
    if (!this.#nc.isClosed()) this.#nc.publish(subject, data);
  }

  listen(subject: string, fn: (subject: string, data: Uint8Array) => void): { stop(): void } {
    const sub = this.#nc.subscribe(subject, {
      callback: (err, m) => {
        if (!err) fn(m.subject, m.data);
      },
    });
    return { stop: () => sub.unsubscribe() };
  }

  async close(): Promise<void> {
    if (!this.#nc.isClosed()) await this.#nc.drain().catch(() => this.#nc.close());
    this.#pubAcks.close();
  }
}
