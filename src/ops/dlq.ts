/**
 * Dead letters: what settle stored in the dead-letter stream, and how an
 * operator sends them back once the cause is fixed. A dead letter's data is
 * the original event's bytes; its Realer-* headers say where and why it failed.
 */
import type { AdminBroker, StoredMessage } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { DeadLetterNotFound } from "../errors.js";
import { decodeEvent } from "../events/envelope.js";
import { eventSubject } from "../events/partition.js";
import type { EventRegistry } from "../events/registry.js";

export interface DeadLetter {
  /** Sequence in the dead-letter stream. */
  seq: number;
  subject: string;
  /** When it was dead-lettered, Unix ms. */
  time: number;
  eventId: string;
  type: string;
  reason: string;
  stage: string;
  code: string;
  attempts: number;
  sourceSubject: string;
  sourceSeq: number;
}

export interface DeadLetterDetail extends DeadLetter {
  headers: Record<string, string>;
  /** The decoded event, when its bytes decode. */
  event?: {
    id: string;
    type: string;
    key: string;
    traceId: string;
    producer: string;
    occurredAt: number;
    body?: unknown;
  };
  decodeError?: string;
}

export interface DlqFilter {
  /** Only dead letters of this event type. */
  type?: string;
  /** Only these dead-letter sequences. */
  seqs?: number[];
}

export function toDeadLetter(m: StoredMessage, prefix: string): DeadLetter {
  const h = m.headers;
  return {
    seq: m.seq,
    subject: m.subject,
    time: m.time,
    eventId: h["Realer-Event-Id"] ?? "",
    type: m.subject.slice(prefix.length + 1),
    reason: h["Realer-Reason"] ?? "",
    stage: h["Realer-Stage"] ?? "",
    code: h["Realer-Code"] ?? "",
    attempts: Number(h["Realer-Attempts"] ?? 0),
    sourceSubject: h["Realer-Source-Subject"] ?? "",
    sourceSeq: Number(h["Realer-Source-Seq"] ?? 0),
  };
}

const typeSubject = (prefix: string, type: string) => `${prefix}.${type.replace(/[^A-Za-z0-9_-]/g, "_")}`;

export class DeadLetters {
  readonly #broker: AdminBroker;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #events: string;
  readonly #partitions: number;

  constructor(broker: AdminBroker, cfg: RealerConfig) {
    this.#broker = broker;
    this.#stream = cfg.streams.deadLetters.name;
    this.#prefix = cfg.subjects.deadLetters;
    this.#events = cfg.subjects.events;
    this.#partitions = cfg.subjects.eventPartitions;
  }

  /** Dead letters oldest first, at most `limit`. */
  async list(filter: DlqFilter = {}, limit = 1000): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for await (const m of this.#messages(filter)) {
      out.push(toDeadLetter(m, this.#prefix));
      if (out.length >= limit) break;
    }
    return out;
  }

  async show(seq: number, registry?: EventRegistry): Promise<DeadLetterDetail> {
    const m = await this.#get(seq);
    const d: DeadLetterDetail = { ...toDeadLetter(m, this.#prefix), headers: m.headers };
    try {
      const e = decodeEvent(m.data);
      d.event = {
        id: e.id,
        type: e.type,
        key: e.key,
        traceId: e.traceId,
        producer: e.producer,
        occurredAt: Number(e.occurredAt),
      };
      if (registry?.has(e.type)) d.event.body = registry.get(e.type).decode(e.payload);
    } catch (err) {
      d.decodeError = (err as Error).message;
    }
    return d;
  }

  /**
   * Publishes each selected dead letter's event back to the subject it came
   * from, then removes the dead letter. The dedupe id is new
   * (`<event id>:redrive:<dead-letter seq>`): the event's own id may still be
   * inside the events stream's duplicate window. A dead letter is removed only
   * after its event is stored again, so a crash in between redrives it twice
   * at worst (the channels' dedupe ids absorb that), never loses it.
   */
  /** Where a producer would publish the dead letter's event (its subject was not recorded). */
  #subjectOf(data: Uint8Array, type: string): string {
    try {
      const e = decodeEvent(data);
      return eventSubject(this.#events, this.#partitions, e.type || type, e.key || e.id);
    } catch {
      return eventSubject(this.#events, this.#partitions, type, "");
    }
  }

  async redrive(
    filter: DlqFilter,
  ): Promise<{ dlqSeq: number; eventId: string; subject: string; seq: number }[]> {
    const out: { dlqSeq: number; eventId: string; subject: string; seq: number }[] = [];
    for (const m of await this.#select(filter)) {
      const d = toDeadLetter(m, this.#prefix);
      const subject = d.sourceSubject || this.#subjectOf(m.data, d.type);
      const headers: Record<string, string> = { "Realer-Redrive": String(d.seq) };
      if (m.headers["Realer-Trace-Id"]) headers["Realer-Trace-Id"] = m.headers["Realer-Trace-Id"];
      const ack = await this.#broker.publish(subject, m.data, {
        msgId: `${d.eventId || d.sourceSeq}:redrive:${d.seq}`,
        headers,
      });
      await this.#broker.deleteMessage(this.#stream, d.seq);
      out.push({ dlqSeq: d.seq, eventId: d.eventId, subject, seq: ack.seq });
    }
    return out;
  }

  /** Removes the selected dead letters (all of them without a filter); resolves with how many went. */
  async purge(filter: DlqFilter = {}): Promise<number> {
    if (filter.seqs) {
      for (const seq of filter.seqs) await this.#get(seq);
      let n = 0;
      for (const seq of filter.seqs) if (await this.#broker.deleteMessage(this.#stream, seq)) n++;
      return n;
    }
    return this.#broker.purge(this.#stream, filter.type ? typeSubject(this.#prefix, filter.type) : undefined);
  }

  async count(): Promise<number> {
    return (await this.#broker.streamState(this.#stream)).messages;
  }

  async #get(seq: number): Promise<StoredMessage> {
    const m = Number.isInteger(seq) && seq > 0 ? await this.#broker.getMessage(this.#stream, seq) : undefined;
    if (!m) throw new DeadLetterNotFound(String(seq));
    return m;
  }

  /** Explicit sequences must all exist (a typo is an error, not a no-op). */
  async #select(filter: DlqFilter): Promise<StoredMessage[]> {
    if (filter.seqs) return Promise.all(filter.seqs.map((s) => this.#get(s)));
    const out: StoredMessage[] = [];
    for await (const m of this.#messages(filter)) out.push(m);
    return out;
  }

  async *#messages(filter: DlqFilter): AsyncIterable<StoredMessage> {
    const { firstSeq, messages } = await this.#broker.streamState(this.#stream);
    if (messages === 0) return;
    const subject = filter.type ? typeSubject(this.#prefix, filter.type) : undefined;
    yield* this.#broker.read(this.#stream, { ...(subject ? { subject } : {}), fromSeq: firstSeq });
  }
}
