/**
 * One stream of the in-memory broker: its messages in order, its limits
 * (max age, bytes, messages, per subject, the duplicate window) enforced as
 * JetStream enforces them, its durable consumers and its live subjects.
 */
import { subjectMatches } from "../subject.js";
import type { PubAck, PublishOptions, StoredMessage, StreamSpec } from "../types.js";
import type { MemoryConsumer } from "./consumer.js";
import { DedupeWindow, SubjectCounts, Wakeup } from "./limits.js";
import { type LiveFaultState, MemoryLive } from "./live.js";
import { MessageLog } from "./message-log.js";

/** A stream's duplicate window when its spec sets none, as on JetStream. */
const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

export const ALL_SUBJECTS = Symbol("all subjects");

/** A limit of a spec: undefined, 0 and below mean none. */
const limit = (v: number | undefined): number | undefined => (v !== undefined && v > 0 ? v : undefined);

export class MemoryStream {
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
