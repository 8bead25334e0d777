/**
 * The in-memory twin of the JetStream broker: the embedded default for
 * `realer dev` and for tests that need no server. One process only, and
 * nothing survives a restart. It keeps every guarantee written on `Broker`;
 * the contract suite runs against it and against JetStream.
 */
import { ConsumerNotFound, StreamNotFound } from "../errors.js";
import { AsyncQueue, iterableFetch } from "./async-queue.js";
import { natsRefuses } from "./headers.js";
import { MemoryConsumer, type PendingFetch } from "./memory-consumer.js";
import { DedupeWindow, SubjectCounts, Wakeup } from "./memory-limits.js";
import { LiveFaultState, type LiveFaults, MemoryLive } from "./memory-live.js";
import { MessageLog, ownBytes } from "./message-log.js";
import { subjectMatches } from "./subject.js";
import type {
  Broker,
  BrokerAdmin,
  ConsumerSpec,
  ConsumerState,
  Delivery,
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
  SubjectState,
} from "./types.js";

/** A stream's duplicate window when its spec sets none, as on JetStream. */
const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

const ALL_SUBJECTS = Symbol("all subjects");

/** A limit of a spec: undefined, 0 and below mean none. */
const limit = (v: number | undefined): number | undefined => (v !== undefined && v > 0 ? v : undefined);

class MemoryStream {
  spec: StreamSpec;
  readonly msgs = new MessageLog();
  lastSeq = 0;
  readonly created = Date.now();
  bytes = 0;
  readonly dedupe = new DedupeWindow();
  readonly consumers = new Map<string, MemoryConsumer>();
  /** Its live subjects, when it republishes what it stores (set at creation, as on JetStream). */
  readonly live: MemoryLive | undefined;
  readonly #subjects = new SubjectCounts();
  /** Enforces max age and the duplicate window when nothing is published. */
  readonly #wakeup = new Wakeup(() => this.trim(Date.now(), undefined));

  constructor(spec: StreamSpec, faults: LiveFaultState) {
    this.spec = spec;
    this.live = spec.republish
      ? new MemoryLive(
          {
            read: (fromSeq, toSeq, subject) => this.read(fromSeq, toSeq, subject),
            lastSeq: () => this.lastSeq,
          },
          faults,
        )
      : undefined;
  }

  /** The stored messages from `fromSeq` to `toSeq`, of `subject` (a filter) or all, in order. */
  *read(fromSeq: number, toSeq: number, subject = ">"): Iterable<StoredMessage> {
    let seq = fromSeq;
    while (seq <= toSeq) {
      const m = this.msgs.at(this.indexFrom(seq));
      if (!m || m.seq > toSeq) return;
      seq = m.seq + 1;
      if (subjectMatches(subject, m.subject)) yield m;
    }
  }

  get firstSeq(): number {
    return this.msgs.first()?.seq ?? this.lastSeq + 1;
  }

  get #window(): number {
    return this.spec.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
  }

  get #maxIds(): number {
    return limit(this.spec.maxDedupeIds) ?? Number.POSITIVE_INFINITY;
  }

  /** Index of the first stored message with seq >= `seq`. */
  indexFrom(seq: number): number {
    return this.msgs.indexFrom(seq);
  }

  get(seq: number): StoredMessage | undefined {
    const m = this.msgs.at(this.indexFrom(seq));
    return m?.seq === seq ? m : undefined;
  }

  /** Removes the message at `seq`; false when none is stored there. */
  remove(seq: number): boolean {
    const i = this.indexFrom(seq);
    if (this.msgs.at(i)?.seq !== seq) return false;
    this.#dropAt(i);
    return true;
  }

  /** Removes every message `gone` accepts; returns how many went. */
  purge(gone: (m: StoredMessage) => boolean): number {
    const removed = this.msgs.retain((m) => !gone(m));
    for (const m of removed) this.#forget(m);
    return removed.length;
  }

  store(subject: string, data: Uint8Array, opts: PublishOptions | undefined): PubAck {
    const now = Date.now();
    if (opts?.msgId) {
      this.dedupe.expire(now, this.#window, this.#maxIds);
      const seq = this.dedupe.seqOf(opts.msgId);
      if (seq !== undefined) return { stream: this.spec.name, seq, duplicate: true };
    }
    const msg: StoredMessage = {
      subject,
      seq: ++this.lastSeq,
      data,
      headers: { ...opts?.headers },
      time: now,
    };
    this.msgs.push(msg);
    this.bytes += data.byteLength;
    this.#subjects.add(subject, msg.seq);
    if (opts?.msgId) this.dedupe.remember(opts.msgId, msg.seq, now);
    this.live?.stored(msg);
    this.trim(now, subject);
    for (const c of this.consumers.values()) c.pump();
    return { stream: this.spec.name, seq: msg.seq, duplicate: false };
  }

  /**
   * Enforces the spec's limits as JetStream does (the oldest go first), and
   * wakes up for the next expiry. Per subject, only `subjects`' count is
   * checked: the one just stored, every one after a new spec, none on expiry.
   */
  trim(now: number, subjects: string | typeof ALL_SUBJECTS | undefined): void {
    const maxMsgs = limit(this.spec.maxMsgs);
    const maxBytes = limit(this.spec.maxBytes);
    const maxAgeMs = limit(this.spec.maxAgeMs);
    const perSubject = limit(this.spec.maxMsgsPerSubject);
    while (maxMsgs !== undefined && this.msgs.length > maxMsgs) this.#dropAt(0);
    while (maxBytes !== undefined && this.bytes > maxBytes && this.msgs.length > 0) this.#dropAt(0);
    while (maxAgeMs !== undefined && this.msgs.length > 0 && now - this.msgs.first()!.time > maxAgeMs)
      this.#dropAt(0);
    if (perSubject !== undefined && subjects !== undefined) {
      const over = subjects === ALL_SUBJECTS ? this.#subjects.subjects() : [subjects];
      for (const s of over) while (this.#subjects.count(s) > perSubject) this.#dropOldestOf(s);
    }
    this.dedupe.expire(now, this.#window, this.#maxIds);
    const oldest = this.msgs.first();
    if (oldest && maxAgeMs !== undefined) this.#wakeup.at(oldest.time + maxAgeMs + 1);
    const oldestId = this.dedupe.oldest();
    if (oldestId !== undefined) this.#wakeup.at(oldestId + this.#window);
  }

  /** Stops the expiry timer (the broker is closing). */
  stop(): void {
    this.#wakeup.stop();
  }

  #dropAt(i: number): void {
    const m = this.msgs.removeAt(i);
    if (m) this.#forget(m);
  }

  #forget(m: StoredMessage): void {
    this.bytes -= m.data.byteLength;
    this.#subjects.remove(m.subject);
    this.live?.removed(m);
  }

  #dropOldestOf(subject: string): void {
    let i = this.indexFrom(this.#subjects.from(subject));
    while (this.msgs.at(i)!.subject !== subject) i++;
    this.#dropAt(i);
    // Every message of the subject left is after the one dropped.
    this.#subjects.advance(subject, this.msgs.at(i)?.seq ?? this.lastSeq + 1);
  }
}

export class MemoryBroker implements Broker, BrokerAdmin, LiveSubjects {
  readonly #streams = new Map<string, MemoryStream>();
  readonly #faults = new LiveFaultState();
  #closed = false;

  /** For tests: faults injected into the live messages of every stream (memory-live.ts). */
  get faults(): LiveFaults {
    return this.#faults;
  }

  get connected(): boolean {
    return !this.#closed;
  }

  async ensureStream(spec: StreamSpec): Promise<void> {
    const s = this.#streams.get(spec.name);
    if (s) {
      s.spec = { ...spec };
      s.trim(Date.now(), ALL_SUBJECTS);
    } else this.#streams.set(spec.name, new MemoryStream({ ...spec }, this.#faults));
  }

  async liveSubjects(stream: string): Promise<LiveSubjectSource | undefined> {
    return this.#stream(stream).live?.source();
  }

  async streamState(stream: string): Promise<StreamState> {
    const s = this.#stream(stream);
    return {
      name: stream,
      messages: s.msgs.length,
      bytes: s.bytes,
      firstSeq: s.firstSeq,
      lastSeq: s.lastSeq,
      created: s.created,
      replicas: 1,
    };
  }

  async publish(subject: string, data: Uint8Array, opts?: PublishOptions): Promise<PubAck> {
    // What the NATS client refuses, refused here too: a publish with such a header fails whole.
    for (const [k, v] of Object.entries(opts?.headers ?? {})) {
      const bad = natsRefuses(k, v);
      if (bad) throw new Error(`header ${JSON.stringify(k)} is not valid: ${bad}`);
    }
    for (const s of this.#streams.values()) {
      if (s.spec.subjects.some((f) => subjectMatches(f, subject)))
        return s.store(subject, ownBytes(data), opts);
    }
    throw new StreamNotFound(`for subject ${subject}`);
  }

  async ensureConsumer(spec: ConsumerSpec): Promise<void> {
    const s = this.#stream(spec.stream);
    const c = s.consumers.get(spec.durable);
    if (c) c.spec = { ...spec };
    else s.consumers.set(spec.durable, new MemoryConsumer(s, { ...spec }));
  }

  fetch(stream: string, durable: string, opts: FetchOptions): Fetch {
    const consumer = this.#stream(stream).consumers.get(durable);
    if (!consumer) throw new StreamNotFound(`${stream} consumer ${durable}`);
    let f: PendingFetch;
    const finish = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", finish);
      consumer.removeFetch(f);
      f.queue.end();
    };
    f = { remaining: Math.max(1, opts.max), queue: new AsyncQueue<Delivery>(finish) };
    const timer = setTimeout(finish, opts.expiresMs);
    opts.signal?.addEventListener("abort", finish, { once: true });
    if (this.#closed || opts.signal?.aborted) finish();
    else consumer.addFetch(f);
    return iterableFetch(f.queue);
  }

  async *read(stream: string, opts: ReadOptions): AsyncIterable<StoredMessage> {
    const s = this.#stream(stream);
    let left = opts.max ?? Number.POSITIVE_INFINITY;
    if (left <= 0) return;
    for (const m of s.read(opts.fromSeq, opts.toSeq ?? s.lastSeq, opts.subject)) {
      yield m;
      if (--left <= 0) return;
    }
  }

  async subjectState(stream: string, subject: string): Promise<SubjectState> {
    let messages = 0;
    let firstSeq = 0;
    for (const m of this.#stream(stream).msgs) {
      if (m.subject !== subject) continue;
      if (messages++ === 0) firstSeq = m.seq;
    }
    return { messages, firstSeq };
  }

  async streams(): Promise<string[]> {
    return [...this.#streams.keys()].sort();
  }

  async consumers(stream: string): Promise<ConsumerState[]> {
    const s = this.#stream(stream);
    return [...s.consumers.values()].map((c) => c.state()).sort((a, b) => a.name.localeCompare(b.name));
  }

  async consumerState(stream: string, durable: string): Promise<ConsumerState> {
    const c = this.#stream(stream).consumers.get(durable);
    if (!c) throw new ConsumerNotFound(durable, stream);
    return c.state();
  }

  async getMessage(stream: string, seq: number): Promise<StoredMessage | undefined> {
    return this.#stream(stream).get(seq);
  }

  async deleteMessage(stream: string, seq: number): Promise<boolean> {
    return this.#stream(stream).remove(seq);
  }

  async purge(stream: string, subject?: string): Promise<number> {
    return this.#stream(stream).purge((m) => subjectMatches(subject ?? ">", m.subject));
  }

  async seqAtTime(stream: string, timeMs: number): Promise<number> {
    const s = this.#stream(stream);
    for (const m of s.msgs) if (m.time >= timeMs) return m.seq;
    return s.lastSeq + 1;
  }

  readonly #listeners = new Set<{ filter: string; fn: (subject: string, data: Uint8Array) => void }>();

  /** Signals are delivered on a later tick, as they would arrive from a server. */
  signal(subject: string, data: Uint8Array): void {
    if (this.#closed) return;
    const targets = [...this.#listeners].filter((l) => subjectMatches(l.filter, subject));
    if (targets.length === 0) return;
    setImmediate(() => {
      for (const l of targets) if (this.#listeners.has(l)) l.fn(subject, data);
    });
  }

  listen(subject: string, fn: (subject: string, data: Uint8Array) => void): { stop(): void } {
    const l = { filter: subject, fn };
    this.#listeners.add(l);
    return { stop: () => this.#listeners.delete(l) };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#closed = true;
    for (const s of this.#streams.values()) {
      s.stop();
      for (const c of s.consumers.values()) c.close();
      s.live?.close();
    }
  }

  #stream(name: string): MemoryStream {
    const s = this.#streams.get(name);
    if (!s) throw new StreamNotFound(name);
    return s;
  }
}
