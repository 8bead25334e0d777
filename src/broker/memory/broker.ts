/**
 * The in-memory twin of the JetStream broker: the embedded default for
 * `realer dev` and for tests that need no server. One process only, and
 * nothing survives a restart. It keeps every guarantee written on `Broker`;
 * the contract suite runs against it and against JetStream.
 */
import { ConsumerNotFound, StreamNotFound } from "../../errors.js";
import { natsRefuses } from "../headers.js";
import { subjectMatches } from "../subject.js";
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
} from "../types.js";
import { AsyncQueue, iterableFetch } from "./async-queue.js";
import { MemoryConsumer, type PendingFetch } from "./consumer.js";
import { LiveFaultState, type LiveFaults } from "./live.js";
import { ownBytes } from "./message-log.js";
import { ALL_SUBJECTS, MemoryStream } from "./stream.js";

/** A stream's duplicate window when its spec sets none, as on JetStream. */
/** Each broker's fault state, for tests only (`memoryFaults`): the broker keeps it private. */
const faultStates = new WeakMap<MemoryBroker, LiveFaults>();

/** Faults injected into the live messages of every stream of `broker` (live.ts): a test-only handle. */
export function memoryFaults(broker: MemoryBroker): LiveFaults {
  return faultStates.get(broker)!;
}

export class MemoryBroker implements Broker, BrokerAdmin, LiveSubjects {
  readonly #streams = new Map<string, MemoryStream>();
  readonly #faults = new LiveFaultState();

  constructor() {
    faultStates.set(this, this.#faults);
  }
  #closed = false;

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
