/**
 * The in-memory twin of the JetStream broker: the embedded default for
 * `realer dev` and for tests that need no server. One process only, and
 * nothing survives a restart. It keeps every guarantee written on `Broker`;
 * the contract suite runs against it and against JetStream.
 */
import { ConsumerNotFound, StreamNotFound } from "../errors.js";
import { AsyncQueue, iterableFetch } from "./async-queue.js";
import { LiveFaultState, type LiveFaults, MemoryLive } from "./memory-live.js";
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
} from "./types.js";

const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

class MemoryStream {
  spec: StreamSpec;
  readonly msgs: StoredMessage[] = [];
  lastSeq = 0;
  readonly created = Date.now();
  bytes = 0;
  readonly dedupe = new Map<string, { seq: number; at: number }>();
  readonly consumers = new Map<string, MemoryConsumer>();
  /** Its live subjects, when it republishes what it stores (set at creation, as on JetStream). */
  readonly live: MemoryLive | undefined;

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
      const m = this.msgs[this.indexFrom(seq)];
      if (!m || m.seq > toSeq) return;
      seq = m.seq + 1;
      if (subjectMatches(subject, m.subject)) yield m;
    }
  }

  get firstSeq(): number {
    return this.msgs[0]?.seq ?? this.lastSeq + 1;
  }

  /** Index of the first stored message with seq >= `seq`. */
  indexFrom(seq: number): number {
    let lo = 0;
    let hi = this.msgs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.msgs[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(seq: number): StoredMessage | undefined {
    const m = this.msgs[this.indexFrom(seq)];
    return m?.seq === seq ? m : undefined;
  }

  /** Removes the message at `seq`; false when none is stored there. */
  remove(seq: number): boolean {
    const i = this.indexFrom(seq);
    const m = this.msgs[i];
    if (m?.seq !== seq) return false;
    this.msgs.splice(i, 1);
    this.bytes -= m.data.byteLength;
    this.live?.removed(m);
    return true;
  }

  store(subject: string, data: Uint8Array, opts: PublishOptions | undefined): PubAck {
    const now = Date.now();
    const window = this.spec.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
    if (opts?.msgId) {
      const seen = this.dedupe.get(opts.msgId);
      if (seen && now - seen.at < window) return { stream: this.spec.name, seq: seen.seq, duplicate: true };
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
    if (opts?.msgId) this.dedupe.set(opts.msgId, { seq: msg.seq, at: now });
    this.live?.stored(msg);
    this.trim(now, window);
    for (const c of this.consumers.values()) c.pump();
    return { stream: this.spec.name, seq: msg.seq, duplicate: false };
  }

  trim(now: number, window: number): void {
    const { maxMsgs, maxAgeMs, maxBytes, maxMsgsPerSubject } = this.spec;
    const drop = () => {
      const m = this.msgs.shift()!;
      this.bytes -= m.data.byteLength;
      this.live?.removed(m);
    };
    while (maxMsgs !== undefined && this.msgs.length > maxMsgs) drop();
    while (maxBytes !== undefined && this.bytes > maxBytes && this.msgs.length > 0) drop();
    while (maxAgeMs !== undefined && this.msgs.length > 0 && now - this.msgs[0]!.time > maxAgeMs) drop();
    if (maxMsgsPerSubject !== undefined) {
      const last = this.msgs[this.msgs.length - 1]!;
      let count = 0;
      for (let i = this.msgs.length - 1; i >= 0; i--) {
        const m = this.msgs[i]!;
        if (m.subject !== last.subject) continue;
        if (++count > maxMsgsPerSubject) {
          this.msgs.splice(i, 1);
          this.bytes -= m.data.byteLength;
          this.live?.removed(m);
        }
      }
    }
    // The dedupe map is ordered by insertion, so expired ids are at its front.
    for (const [id, seen] of this.dedupe) {
      if (now - seen.at < window) break;
      this.dedupe.delete(id);
    }
  }
}

interface Claim {
  count: number;
  timer: NodeJS.Timeout | undefined;
}

interface PendingFetch {
  remaining: number;
  queue: AsyncQueue<Delivery>;
}

class MemoryConsumer {
  spec: ConsumerSpec;
  readonly #stream: MemoryStream;
  /** Next stream sequence never delivered before. */
  #cursor: number;
  /** Claimed and not yet settled. */
  readonly #claims = new Map<number, Claim>();
  /** Sequences waiting for redelivery, with their delivery counts so far. */
  readonly #ready: { seq: number; count: number }[] = [];
  readonly #fetches: PendingFetch[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Nak'ed sequences waiting out their delay, with their delivery counts. */
  readonly #waiting = new Map<number, number>();

  constructor(stream: MemoryStream, spec: ConsumerSpec) {
    this.#stream = stream;
    this.spec = spec;
    this.#cursor = stream.firstSeq;
  }

  addFetch(f: PendingFetch): void {
    this.#fetches.push(f);
    this.pump();
  }

  removeFetch(f: PendingFetch): void {
    const i = this.#fetches.indexOf(f);
    if (i >= 0) this.#fetches.splice(i, 1);
  }

  /** Hands out whatever can be delivered now to the fetches waiting for it. */
  pump(): void {
    while (this.#fetches.length > 0 && this.#claims.size < this.spec.maxAckPending) {
      const next = this.#next();
      if (!next) return;
      const f = this.#fetches[0]!;
      this.#deliver(next.msg, next.count + 1, f);
      if (--f.remaining === 0) {
        this.#fetches.shift();
        f.queue.end();
      }
    }
  }

  /** Counts in JetStream's terms: naks waiting for redelivery are still ack pending. */
  state(): ConsumerState {
    const filter = this.spec.filterSubject ?? ">";
    let pending = 0;
    const msgs = this.#stream.msgs;
    for (let i = this.#stream.indexFrom(this.#cursor); i < msgs.length; i++) {
      if (subjectMatches(filter, msgs[i]!.subject)) pending++;
    }
    const unsettled: [number, number][] = [
      ...[...this.#claims].map(([seq, c]): [number, number] => [seq, c.count]),
      ...this.#ready.map((r): [number, number] => [r.seq, r.count]),
      ...this.#waiting,
    ];
    const floor = unsettled.reduce((min, [seq]) => Math.min(min, seq - 1), this.#cursor - 1);
    return {
      stream: this.spec.stream,
      name: this.spec.durable,
      pending,
      ackPending: unsettled.length,
      redelivered: unsettled.filter(([, count]) => count > 1).length,
      ackFloor: Math.max(0, floor),
    };
  }

  close(): void {
    for (const c of this.#claims.values()) clearTimeout(c.timer);
    for (const t of this.#timers) clearTimeout(t);
    for (const f of this.#fetches.splice(0)) f.queue.end();
  }

  #next(): { msg: StoredMessage; count: number } | undefined {
    while (this.#ready.length > 0) {
      const r = this.#ready.shift()!;
      const msg = this.#stream.get(r.seq);
      if (msg) return { msg, count: r.count };
    }
    const filter = this.spec.filterSubject ?? ">";
    const msgs = this.#stream.msgs;
    for (let i = this.#stream.indexFrom(this.#cursor); i < msgs.length; i++) {
      const msg = msgs[i]!;
      this.#cursor = msg.seq + 1;
      if (subjectMatches(filter, msg.subject)) return { msg, count: 0 };
    }
    this.#cursor = Math.max(this.#cursor, this.#stream.lastSeq + 1);
    return undefined;
  }

  #deliver(msg: StoredMessage, count: number, f: PendingFetch): void {
    const claim: Claim = { count, timer: undefined };
    const arm = () => {
      clearTimeout(claim.timer);
      claim.timer = setTimeout(() => this.#expire(msg.seq), this.spec.ackWaitMs);
      claim.timer.unref();
    };
    this.#claims.set(msg.seq, claim);
    arm();
    let settled = false;
    const settle = (then: () => void) => {
      if (settled || this.#claims.get(msg.seq) !== claim) return;
      settled = true;
      clearTimeout(claim.timer);
      this.#claims.delete(msg.seq);
      then();
      this.pump();
    };
    f.queue.push({
      ...msg,
      deliveryCount: count,
      ack: () => settle(() => {}),
      term: () => settle(() => {}),
      nak: (delayMs = 0) => settle(() => this.#redeliver(msg.seq, count, delayMs)),
      working: () => {
        if (!settled && this.#claims.get(msg.seq) === claim) arm();
      },
    });
  }

  #expire(seq: number): void {
    const claim = this.#claims.get(seq);
    if (!claim) return;
    this.#claims.delete(seq);
    this.#redeliver(seq, claim.count, 0);
    this.pump();
  }

  #redeliver(seq: number, count: number, delayMs: number): void {
    if (this.spec.maxDeliver > 0 && count >= this.spec.maxDeliver) return;
    const enqueue = () => {
      let i = this.#ready.length;
      while (i > 0 && this.#ready[i - 1]!.seq > seq) i--;
      this.#ready.splice(i, 0, { seq, count });
    };
    if (delayMs <= 0) {
      enqueue();
      return;
    }
    this.#waiting.set(seq, count);
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#waiting.delete(seq);
      enqueue();
      this.pump();
    }, delayMs);
    t.unref();
    this.#timers.add(t);
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
    if (s) s.spec = { ...spec };
    else this.#streams.set(spec.name, new MemoryStream({ ...spec }, this.#faults));
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
    for (const s of this.#streams.values()) {
      if (s.spec.subjects.some((f) => subjectMatches(f, subject))) return s.store(subject, data, opts);
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
    yield* s.read(opts.fromSeq, opts.toSeq ?? s.lastSeq, opts.subject);
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
    const s = this.#stream(stream);
    const kept = s.msgs.filter((m) => !subjectMatches(subject ?? ">", m.subject));
    const gone = s.msgs.length - kept.length;
    const keep = new Set(kept);
    for (const m of s.msgs) if (!keep.has(m)) s.live?.removed(m);
    s.msgs.length = 0;
    for (const m of kept) s.msgs.push(m);
    s.bytes = kept.reduce((n, m) => n + m.data.byteLength, 0);
    return gone;
  }

  async seqAtTime(stream: string, timeMs: number): Promise<number> {
    const s = this.#stream(stream);
    return s.msgs.find((m) => m.time >= timeMs)?.seq ?? s.lastSeq + 1;
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
