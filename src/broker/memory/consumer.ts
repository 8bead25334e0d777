/**
 * A durable consumer of a memory stream: claims, ack wait, naks with delay,
 * max deliveries and max ack pending, as JetStream keeps them.
 */

import { subjectMatches } from "../subject.js";
import type { ConsumerSpec, ConsumerState, Delivery, StoredMessage } from "../types.js";
import type { AsyncQueue } from "./async-queue.js";
import type { MessageLog } from "./message-log.js";

/** What a consumer reads of its stream. */
export interface ConsumedStream {
  readonly msgs: MessageLog;
  readonly firstSeq: number;
  readonly lastSeq: number;
  indexFrom(seq: number): number;
  get(seq: number): StoredMessage | undefined;
}

interface Claim {
  count: number;
  timer: NodeJS.Timeout | undefined;
}

export interface PendingFetch {
  remaining: number;
  queue: AsyncQueue<Delivery>;
}

export class MemoryConsumer {
  spec: ConsumerSpec;
  readonly #stream: ConsumedStream;
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

  constructor(stream: ConsumedStream, spec: ConsumerSpec) {
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
      if (subjectMatches(filter, msgs.at(i)!.subject)) pending++;
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
      const msg = msgs.at(i)!;
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
