/**
 * The production broker: NATS JetStream through the @nats-io v3 clients.
 * Written for nats-server 2.9 and later (no multi-subject filters, no
 * term reasons: see docs/architecture.md).
 */
import {
  AckPolicy,
  type Consumer,
  type ConsumerInfo,
  DeliverPolicy,
  DiscardPolicy,
  type FetchMessages,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  type MsgRequest,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import {
  connect,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  nanos,
  headers as natsHeaders,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import { BrokerUnavailable, ConfigInvalid, ConsumerNotFound, StreamNotFound } from "../errors.js";
import { PubAcks } from "./pub-acks.js";
import { parseServers } from "./server-urls.js";
import { readRange, type StreamReadDeps } from "./stream-read.js";
import type {
  Broker,
  BrokerAdmin,
  ConsumerSpec,
  ConsumerState,
  Delivery,
  Fetch,
  FetchOptions,
  LiveLoss,
  LiveSubjectSource,
  LiveSubjects,
  PubAck,
  PublishOptions,
  ReadOptions,
  StoredMessage,
  StreamSpec,
  StreamState,
  SubjectState,
} from "./types.js";

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
/** The v3 client refuses pull expiries under one second. */
const MIN_EXPIRES_MS = 1_000;

export interface JetStreamBrokerOptions {
  /** NATS server URL(s), e.g. "nats://127.0.0.1:4222", with credentials if any: "nats://user:password@host:4222". */
  servers: string | string[];
  /** Connection name shown by the server's monitoring. */
  name?: string;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** nats-server's code for "JetStream system temporarily unavailable" (a cluster electing its leader). */
const CLUSTER_NOT_AVAILABLE = 10008;
/** How long creating or updating a stream or consumer keeps trying through a leader election, ms. */
const ELECTION_WAIT_MS = 30_000;

/**
 * Runs a JetStream administration request again while a cluster cannot answer it yet: after a
 * server dies, the streams it led answer nothing (a timeout) until their followers elect a new
 * leader, a few seconds later. A process starting then comes up once that is done instead of
 * exiting. Anything else fails at once.
 */
async function throughElections<T>(op: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ELECTION_WAIT_MS;
  for (let delayMs = 200; ; delayMs = Math.min(delayMs * 2, 2_000)) {
    try {
      return await op();
    } catch (err) {
      const electing =
        err instanceof TimeoutError ||
        err instanceof NoRespondersError ||
        (err instanceof RequestError && err.isNoResponders()) ||
        isApiError(err, CLUSTER_NOT_AVAILABLE);
      if (!electing || Date.now() + delayMs > deadline) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** nats-server's codes for "replicas > 1 not supported in non-clustered mode" and "insufficient resources". */
const REPLICAS_NOT_SUPPORTED = 10074;
const INSUFFICIENT_RESOURCES = 10023;

/** A stream refused because the servers cannot hold that many copies, as a configuration error. */
function replicasRefused(spec: StreamSpec, err: unknown): Error | undefined {
  const replicas = spec.replicas ?? 1;
  if (replicas <= 1) return undefined;
  if (!isApiError(err, REPLICAS_NOT_SUPPORTED) && !isApiError(err, INSUFFICIENT_RESOURCES)) return undefined;
  return new ConfigInvalid(
    `stream ${spec.name} with ${replicas} replicas was refused by nats-server (${(err as Error).message}): ` +
      "a stream has at most one replica per JetStream server, and 1 on a single server (REALER_STREAM_REPLICAS)",
    { cause: err },
  );
}

/** The first value of each header, but those in `skip`. */
function toRecord(h: MsgHdrs | undefined, skip?: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of h) {
    if (v[0] !== undefined && !skip?.has(k)) out[k] = v[0];
  }
  return out;
}

function toStored(m: JsMsg): StoredMessage {
  return {
    subject: m.subject,
    seq: m.seq,
    data: m.data,
    headers: toRecord(m.headers),
    time: m.time.getTime(),
  };
}

/** Headers nats-server adds to a republished message. */
const REPUBLISH_HEADERS = new Set([
  "Nats-Stream",
  "Nats-Subject",
  "Nats-Sequence",
  "Nats-Last-Sequence",
  "Nats-Time-Stamp",
]);

/**
 * A message the stream republished (the edge's channel feed reads them): its subject and
 * sequence from the headers the server adds; its other headers, and its
 * time, read only when asked for (the edge reads neither).
 */
class LiveMessage implements StoredMessage {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly #h: MsgHdrs;
  readonly #received = Date.now();

  constructor(m: Msg, h: MsgHdrs) {
    this.#h = h;
    this.subject = h.get("Nats-Subject");
    this.seq = Number(h.get("Nats-Sequence"));
    this.data = m.data;
  }

  get headers(): Record<string, string> {
    return toRecord(this.#h, REPUBLISH_HEADERS);
  }

  /** The sequence of the subject's message before this one; 0 when none, or when it was deleted. */
  get prevSeq(): number {
    return Number(this.#h.get("Nats-Last-Sequence")) || 0;
  }

  /** The store time when the server sends it (2.9.16 and later), else when it arrived here. */
  get time(): number {
    const t = Date.parse(this.#h.get("Nats-Time-Stamp"));
    return Number.isNaN(t) ? this.#received : t;
  }
}

/** `m` as a message `stream` republished, or undefined when another stream (or anything else) sent it. */
function republishedBy(stream: string, m: Msg): LiveMessage | undefined {
  const h = m.headers;
  return h?.get("Nats-Stream") === stream ? new LiveMessage(m, h) : undefined;
}

/**
 * A claimed message. One object of one shape per delivery, its headers and
 * time read only when asked for (only dead letters need them): the pipeline
 * reads subject, seq, data and deliveryCount of every event.
 */
class JsDelivery implements Delivery {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly deliveryCount: number;
  readonly #m: JsMsg;
  #headers: Record<string, string> | undefined;
  #settled = false;

  constructor(m: JsMsg) {
    this.#m = m;
    this.subject = m.subject;
    this.data = m.data;
    const info = m.info;
    this.seq = info.streamSequence;
    this.deliveryCount = info.deliveryCount;
  }

  get headers(): Record<string, string> {
    this.#headers ??= toRecord(this.#m.headers);
    return this.#headers;
  }

  get time(): number {
    return this.#m.time.getTime();
  }

  ack(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#m.ack();
  }

  nak(delayMs?: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#m.nak(delayMs && delayMs > 0 ? delayMs : undefined);
  }

  working(): void {
    if (!this.#settled) this.#m.working();
  }

  /** 2.9 servers ignore a term reason and redeliver: term() is called bare. */
  term(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#m.term();
  }
}

function toConsumerState(stream: string, ci: ConsumerInfo): ConsumerState {
  return {
    stream,
    name: ci.name,
    pending: ci.num_pending,
    ackPending: ci.num_ack_pending,
    redelivered: ci.num_redelivered,
    ackFloor: ci.ack_floor.stream_seq,
  };
}

export class JetStreamBroker implements Broker, BrokerAdmin, LiveSubjects {
  readonly nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #consumers = new Map<string, Promise<Consumer>>();
  readonly #pubAcks: PubAcks;
  readonly #readDeps: StreamReadDeps;
  #connected = true;
  /** Told of every disconnect and reconnect (live subject sources). */
  readonly #statusListeners = new Set<(why: "disconnect" | "reconnect") => void>();

  private constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager) {
    this.nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#pubAcks = new PubAcks(nc, PUBLISH_TIMEOUT_MS);
    this.#readDeps = {
      js,
      streamState: (stream) => this.streamState(stream),
      nextFromLeader: (stream, seq, subject) =>
        // The client's typing lacks next_by_subj, which nats-server (2.9 and later) takes.
        this.#getStored(stream, { seq, next_by_subj: subject ?? ">" } as never),
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
    return this.#connected && !this.nc.isClosed();
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
      existing = await this.#jsm.streams.info(name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      await this.#jsm.streams.add(cfg);
      return;
    }
    const { storage: _immutable, ...mutable } = cfg;
    try {
      await this.#jsm.streams.update(name, mutable);
    } catch (err) {
      // nats-server 2.9 refuses to change RePublish on an existing stream: keep
      // what it has (its tails read through a consumer, as before).
      if (!(err instanceof JetStreamApiError) || !/RePublish/i.test(err.message)) throw err;
      const { republish: _r, ...rest } = mutable;
      await this.#jsm.streams.update(name, { ...rest, republish: existing.config.republish });
    }
  }

  /** The stream's info; StreamNotFound when there is none. */
  async #info(stream: string): Promise<StreamInfo> {
    try {
      return await this.#jsm.streams.info(stream);
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) throw new StreamNotFound(stream, { cause: err });
      throw err;
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
      await this.#jsm.consumers.info(spec.stream, spec.durable);
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound))
        throw new StreamNotFound(spec.stream, { cause: err });
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
      await this.#jsm.consumers.add(spec.stream, cfg);
      return;
    }
    const { durable_name: _n, ack_policy: _a, deliver_policy: _d, ...mutable } = cfg;
    await this.#jsm.consumers.update(spec.stream, spec.durable, mutable);
  }

  #consumer(stream: string, durable: string): Promise<Consumer> {
    const key = `${stream}/${durable}`;
    let consumer = this.#consumers.get(key);
    if (!consumer) {
      consumer = this.#js.consumers.get(stream, durable);
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
    const prefix = dest.endsWith(".>") ? dest.slice(0, -2) : dest;
    const nc = this.nc;
    return {
      subscribe: (subject, onMessage) => {
        const sub = nc.subscribe(`${prefix}.${subject}`, {
          callback: (err, m) => {
            const lm = err ? undefined : republishedBy(stream, m);
            if (lm) onMessage(lm, lm.prevSeq);
          },
        });
        return () => {
          if (!nc.isClosed()) sub.unsubscribe();
        };
      },
      flush: () => nc.flush(),
      onLoss: (fn: (why: LiveLoss) => void) => {
        // A new leader republishes only what it stores itself: what its predecessor stored and
        // had not sent yet is never republished.
        const advisory = nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${stream}`, {
          callback: (err) => {
            if (!err) fn("leader");
          },
        });
        this.#statusListeners.add(fn);
        return () => {
          this.#statusListeners.delete(fn);
          if (!nc.isClosed()) advisory.unsubscribe();
        };
      },
      read: (fromSeq, toSeq, subject) =>
        this.read(stream, { fromSeq, toSeq, ...(subject !== undefined ? { subject } : {}) }),
      lastSeq: async () => (await this.streamState(stream)).lastSeq,
    };
  }

  async streams(): Promise<string[]> {
    const out: string[] = [];
    for await (const n of this.#jsm.streams.names()) out.push(n);
    return out.sort();
  }

  async consumers(stream: string): Promise<ConsumerState[]> {
    const out: ConsumerState[] = [];
    try {
      for await (const ci of this.#jsm.consumers.list(stream)) {
        if (ci.config.durable_name) out.push(toConsumerState(stream, ci));
      }
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) throw new StreamNotFound(stream, { cause: err });
      throw err;
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async consumerState(stream: string, durable: string): Promise<ConsumerState> {
    try {
      return toConsumerState(stream, await this.#jsm.consumers.info(stream, durable));
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) throw new StreamNotFound(stream, { cause: err });
      if (isApiError(err, JetStreamApiCodes.ConsumerNotFound))
        throw new ConsumerNotFound(durable, stream, { cause: err });
      throw err;
    }
  }

  async subjectState(stream: string, subject: string): Promise<SubjectState> {
    let messages: number;
    try {
      const info = await this.#jsm.streams.info(stream, { subjects_filter: subject });
      messages = info.state.subjects?.[subject] ?? 0;
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) throw new StreamNotFound(stream, { cause: err });
      throw err;
    }
    if (messages === 0) return { messages, firstSeq: 0 };
    for await (const m of this.read(stream, { subject, fromSeq: 1, max: 1 }))
      return { messages, firstSeq: m.seq };
    // Gone since the count was taken.
    return { messages: 0, firstSeq: 0 };
  }

  getMessage(stream: string, seq: number): Promise<StoredMessage | undefined> {
    return this.#getStored(stream, { seq });
  }

  /** STREAM.MSG.GET: answered by the stream's leader only, so never behind what it stored. */
  async #getStored(stream: string, query: MsgRequest): Promise<StoredMessage | undefined> {
    try {
      const m = await this.#jsm.streams.getMessage(stream, query);
      if (!m) return undefined;
      return {
        subject: m.subject,
        seq: m.seq,
        data: m.data,
        headers: toRecord(m.header),
        time: m.time.getTime(),
      };
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.NoMessageFound)) return undefined;
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) throw new StreamNotFound(stream, { cause: err });
      throw err;
    }
  }

  async deleteMessage(stream: string, seq: number): Promise<boolean> {
    try {
      return await this.#jsm.streams.deleteMessage(stream, seq, false);
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) throw new StreamNotFound(stream, { cause: err });
      // The server answers a missing sequence with an API error rather than false.
      if (err instanceof JetStreamApiError) return false;
      throw err;
    }
  }

  async purge(stream: string, subject?: string): Promise<number> {
    try {
      const r = await this.#jsm.streams.purge(stream, subject ? { filter: subject } : undefined);
      return r.purged;
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) throw new StreamNotFound(stream, { cause: err });
      throw err;
    }
  }

  async seqAtTime(stream: string, timeMs: number): Promise<number> {
    const { lastSeq } = await this.streamState(stream);
    const c = await this.#js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(timeMs).toISOString(),
    });
    try {
      const info = await c.info(true);
      if (info.num_pending === 0) return lastSeq + 1;
      const m = await c.next({ expires: MIN_EXPIRES_MS * 5 });
      return m ? m.seq : lastSeq + 1;
    } finally {
      await c.delete().catch(() => {});
    }
  }

  /** Core NATS publish: not stored, never redelivered (the `Signals` capability). */
  signal(subject: string, data: Uint8Array): void {
    if (!this.nc.isClosed()) this.nc.publish(subject, data);
  }

  listen(subject: string, fn: (subject: string, data: Uint8Array) => void): { stop(): void } {
    const sub = this.nc.subscribe(subject, {
      callback: (err, m) => {
        if (!err) fn(m.subject, m.data);
      },
    });
    return { stop: () => sub.unsubscribe() };
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
    this.#pubAcks.close();
  }
}
