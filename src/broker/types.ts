/**
 * The broker seam. Everything above this folder talks to a `Broker`; only the
 * CLI wiring chooses the implementation (JetStream in production, the
 * in-memory twin for `realer dev` and unit tests). One contract suite
 * (test/contract/broker.contract.ts) runs against both, so they cannot drift.
 *
 * Guarantees every implementation keeps:
 * - A stream stores messages in one total order; `seq` starts at 1 and only grows.
 *   A sequence, once assigned, never names another message.
 * - `publish` resolves only after the message is stored, with its sequence.
 *   A second publish with the same `msgId` inside the stream's duplicate window
 *   stores nothing and resolves with the first message's sequence and `duplicate: true`.
 * - Durable consumers deliver at least once. A delivery that is neither acked
 *   nor marked in progress within `ackWaitMs` is delivered again; after
 *   `maxDeliver` deliveries it is not delivered again.
 * - `read` delivers the messages of a subject filter in sequence order,
 *   with no gap and no duplicate.
 */

import type { StreamConfig } from "../config/streams.js";

/**
 * A stream to create or update: its settings (config/streams.ts states each
 * limit; both brokers enforce every one) and where it is stored.
 */
export interface StreamSpec extends StreamConfig {
  /** Where the JetStream implementation stores it. Default "file". Ignored in memory. */
  storage?: "file" | "memory";
}

export interface StreamState {
  name: string;
  messages: number;
  bytes: number;
  /** Sequence of the oldest stored message; `lastSeq + 1` when the stream is empty. */
  firstSeq: number;
  /** Sequence of the newest message ever stored; 0 when none ever was. */
  lastSeq: number;
  /**
   * When the stream was created, Unix ms. With the name it is the stream's
   * identity: a stream deleted and created again restarts its sequences.
   */
  created: number;
  /** Copies the stream is configured to keep (1 in memory). */
  replicas: number;
  /** On a JetStream cluster: the server leading the stream and how each follower is keeping up. */
  cluster?: StreamCluster;
}

export interface StreamCluster {
  leader: string;
  followers: { name: string; current: boolean; offline: boolean; lag: number }[];
}

export interface PublishOptions {
  /** Dedupe id (Nats-Msg-Id): a repeat inside the duplicate window stores nothing. */
  msgId?: string;
  /** String headers stored with the message. */
  headers?: Record<string, string>;
}

export interface PubAck {
  stream: string;
  seq: number;
  /** True when `msgId` was seen inside the window and nothing new was stored. */
  duplicate: boolean;
}

export interface StoredMessage {
  subject: string;
  /** The stream sequence. */
  seq: number;
  data: Uint8Array;
  headers: Record<string, string>;
  /** When the stream stored it, Unix milliseconds. */
  time: number;
}

/** A claimed message of a durable consumer: settle it exactly once. */
export interface Delivery extends StoredMessage {
  /** 1 on first delivery, then 2, 3 ... up to the consumer's `maxDeliver`. */
  deliveryCount: number;
  /** Done: never deliver again. Fire and forget: a lost ack means one redelivery. */
  ack(): void;
  /** Not now: deliver again after `delayMs` (0: as soon as possible). */
  nak(delayMs?: number): void;
  /** Still working: restart the ack-wait clock so the claim is kept. */
  working(): void;
  /** Never deliver again, without success (poison message). */
  term(): void;
}

export interface ConsumerSpec {
  stream: string;
  /** Durable name: every process that uses it shares one queue of claims. */
  durable: string;
  /** Only messages whose subject matches; default: the whole stream. */
  filterSubject?: string;
  /** How long a claim lasts without an ack or `working()`, in milliseconds. */
  ackWaitMs: number;
  /** Deliveries before a message is given up on; -1 for no limit. */
  maxDeliver: number;
  /** Claims outstanding across all processes at once. */
  maxAckPending: number;
}

export interface FetchOptions {
  /** Most deliveries this fetch yields. */
  max: number;
  /** The fetch ends after this long even when fewer than `max` arrived, in ms. */
  expiresMs: number;
  /** Ends the fetch early (deliveries already yielded stay claimed). */
  signal?: AbortSignal;
}

/**
 * The deliveries of one fetch: iterate them, or hand them to `each`; one or
 * the other, once. Nothing is claimed before either starts.
 */
export interface Fetch extends AsyncIterable<Delivery> {
  /**
   * Calls `fn` with every delivery as it arrives and resolves once the fetch
   * has ended; rejects when it fails, as iterating would throw. No promise
   * per delivery (the worker's hot path). `fn` must not throw.
   */
  each(fn: (d: Delivery) => void): Promise<void>;
}

export interface ReadOptions {
  /** Subject filter; default: the whole stream. */
  subject?: string;
  /** First sequence to read (inclusive). */
  fromSeq: number;
  /** Last sequence to read (inclusive); default: the stream's last sequence when the read starts. */
  toSeq?: number;
  /** Most messages to read; the read ends after them (and asks the server for no more). */
  max?: number;
}

/** What a stream holds of one subject. */
export interface SubjectState {
  /** Messages of the subject stored now. */
  messages: number;
  /** Sequence of the oldest of them; 0 when there is none. */
  firstSeq: number;
}

export interface Broker {
  /** Whether the connection to the broker is up now (the in-memory broker always is, until closed). */
  readonly connected: boolean;
  /** Creates the stream, or updates its limits to `spec`. Idempotent. */
  ensureStream(spec: StreamSpec): Promise<void>;
  /** The stream's counts and sequence bounds; rejects with StreamNotFound. */
  streamState(stream: string): Promise<StreamState>;
  /** Stores one message; resolves when it is stored. */
  publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<PubAck>;
  /** Creates the durable consumer, or updates it to `spec`. Idempotent. */
  ensureConsumer(spec: ConsumerSpec): Promise<void>;
  /** Claims up to `max` deliveries of a durable consumer as they become available. */
  fetch(stream: string, durable: string, opts: FetchOptions): Fetch;
  /** Reads stored messages in order, then ends. */
  read(stream: string, opts: ReadOptions): AsyncIterable<StoredMessage>;
  /** What the stream holds of `subject` (no wildcards); rejects with StreamNotFound. */
  subjectState(stream: string, subject: string): Promise<SubjectState>;
  /** Stops everything; outstanding fetches end. */
  close(): Promise<void>;
}

/**
 * Optional capability: fire-and-forget messages that are not stored (NATS
 * core pub/sub). A signal reaches the listeners subscribed when it is sent,
 * including the sender's own, at most once, in the order one sender sent them;
 * nothing is kept for listeners that come later. Use subjects no stream
 * captures (JetStream would store those). Edges share subscriber counts this way. Both brokers implement it; the contract suite covers it.
 */
export interface Signals {
  /** Sends `data` to every current listener of a matching filter. */
  signal(subject: string, data: Uint8Array): void;
  /** Calls `fn` for each signal on `subject` (NATS wildcards allowed) until stopped. */
  listen(subject: string, fn: (subject: string, data: Uint8Array) => void): { stop(): void };
}

export function hasSignals(b: Broker): b is Broker & Signals {
  const s = b as Partial<Signals>;
  return typeof s.signal === "function" && typeof s.listen === "function";
}

/**
 * Optional capability: a stream's messages subject by subject, as the stream
 * republishes them, for readers that want only some subjects (an edge: the
 * channels its clients watch). Both brokers have it for a stream created
 * with `republish`: JetStream RePublish, and its in-memory twin
 * (memory/live.ts); the contract suite covers it on both.
 */
export interface LiveSubjects {
  /** The live source of `stream`, or undefined when the stream does not republish all it stores. */
  liveSubjects(stream: string): Promise<LiveSubjectSource | undefined>;
}

/** Why live messages may have been missed: the connection dropped (then came back), or the stream's leader changed. */
export type LiveLoss = "disconnect" | "reconnect" | "leader";

export interface LiveSubjectSource {
  /**
   * Calls `onMessage` with each message of `subject` the stream stores from
   * now on, and `prevSeq`, the sequence of the subject's message before it (0
   * when none, or when that one was deleted). Plain messages: those stored
   * while the connection is down are never delivered (`onLoss` says when).
   * While nothing is lost they arrive in stream order, across subjects too
   * (NATS delivers one publisher's messages in order). Returns the unsubscribe.
   */
  subscribe(subject: string, onMessage: (m: StoredMessage, prevSeq: number) => void): () => void;
  /** Resolves once every subscription made before the call is active on the server. */
  flush(): Promise<void>;
  /** Calls `fn` whenever live messages may have been missed; returns the stop. */
  onLoss(fn: (why: LiveLoss) => void): () => void;
  /** The stream's messages from `fromSeq` to `toSeq`, of `subject` or all, in order; gone ones skipped. */
  read(fromSeq: number, toSeq: number, subject?: string): AsyncIterable<StoredMessage>;
  /** The stream's last sequence. */
  lastSeq(): Promise<number>;
}

export function hasLiveSubjects(b: Broker): b is Broker & LiveSubjects {
  return typeof (b as Partial<LiveSubjects>).liveSubjects === "function";
}

/** A durable consumer's counts, as operators read them (`realer inspect`, the audit). */
export interface ConsumerState {
  stream: string;
  /** The durable name. */
  name: string;
  /** Messages matching the consumer that no one has claimed yet. */
  pending: number;
  /** Claimed and not yet acked or terminated, including naks waiting for their redelivery. */
  ackPending: number;
  /** Of `ackPending`, those delivered more than once. */
  redelivered: number;
  /** Every sequence at or below this one is settled. */
  ackFloor: number;
}

/**
 * Operator capabilities: a separate interface so the data path (`Broker`)
 * stays small. Both brokers implement it; the contract suite covers it.
 */
export interface BrokerAdmin {
  /** Names of every stream. */
  streams(): Promise<string[]>;
  /** The durable consumers of a stream (ephemeral readers are not listed); rejects with StreamNotFound. */
  consumers(stream: string): Promise<ConsumerState[]>;
  /** One durable's counts; rejects with StreamNotFound or ConsumerNotFound. */
  consumerState(stream: string, durable: string): Promise<ConsumerState>;
  /** The message stored at `seq`, or undefined when there is none (never stored, deleted or aged out). */
  getMessage(stream: string, seq: number): Promise<StoredMessage | undefined>;
  /** Removes one message; false when there was none at `seq`. */
  deleteMessage(stream: string, seq: number): Promise<boolean>;
  /** Removes every message, or only those of `subject`; resolves with how many went. */
  purge(stream: string, subject?: string): Promise<number>;
  /** The first sequence stored at or after `timeMs` (Unix ms); `lastSeq + 1` when none was. */
  seqAtTime(stream: string, timeMs: number): Promise<number>;
}

export type AdminBroker = Broker & BrokerAdmin;
