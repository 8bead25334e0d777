/**
 * The in-memory twin of JetStream RePublish (the `LiveSubjects`
 * capability): a stream with `republish` set hands every message it stores
 * to the subscribers of its subject, with the subject's previous sequence,
 * as a plain message would arrive from a server: on a later tick, in stream
 * order across subjects, never to a subscriber that came after it was
 * stored.
 *
 * Tests can make it misbehave as a network and a cluster do (`LiveFaults`):
 * drop, hold back (delay or reorder) a live message, report a loss, and
 * hold reads back while a repair is under way. A stored message is deleted
 * with `BrokerAdmin.deleteMessage`, as on JetStream.
 */
import { subjectMatches } from "../subject.js";
import type { LiveLoss, LiveSubjectSource, StoredMessage } from "../types.js";

/** What the live source needs of its stream. */
export interface LiveStore {
  read(fromSeq: number, toSeq: number, subject?: string): Iterable<StoredMessage>;
  lastSeq(): number;
}

type Match = (m: StoredMessage) => boolean;

/** A hold on live messages: those it matches wait until `release`. */
export interface LiveHold {
  /** Messages held back now. */
  readonly held: number;
  /** Delivers what was held, in stream order, and holds nothing more. */
  release(): void;
}

/** Faults a test can inject into the live messages of every stream of one memory broker. */
export interface LiveFaults {
  /** Drops the next `times` live messages `match` accepts: no subscriber ever gets them. */
  drop(match: Match, times?: number): void;
  /** Holds back the live messages `match` accepts (later ones pass them) until released. */
  hold(match: Match): LiveHold;
  /** Tells every live source's loss listeners that live messages may have been missed. */
  loss(why: LiveLoss): void;
  /** Makes every read of a live source wait until the returned function is called. */
  pauseReads(): () => void;
}

interface Subscriber {
  subject: string;
  fn: (m: StoredMessage, prevSeq: number) => void;
}

interface Outgoing {
  m: StoredMessage;
  prev: number;
  to: Subscriber[];
}

interface Hold {
  match: Match;
  items: Outgoing[];
  released: boolean;
}

/** The fault state one broker shares between its streams. */
export class LiveFaultState implements LiveFaults {
  readonly #drops: { match: Match; left: number }[] = [];
  readonly #holds = new Set<Hold>();
  readonly lossListeners = new Set<(why: LiveLoss) => void>();
  #readGate: Promise<void> | undefined;

  drop(match: Match, times = 1): void {
    this.#drops.push({ match, left: times });
  }

  hold(match: Match): LiveHold {
    const h: Hold = { match, items: [], released: false };
    this.#holds.add(h);
    return {
      get held() {
        return h.items.length;
      },
      release: () => {
        if (h.released) return;
        h.released = true;
        this.#holds.delete(h);
        for (const o of h.items) send(o);
        h.items.length = 0;
      },
    };
  }

  loss(why: LiveLoss): void {
    for (const fn of [...this.lossListeners]) fn(why);
  }

  pauseReads(): () => void {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    this.#readGate = gate;
    return () => {
      if (this.#readGate === gate) this.#readGate = undefined;
      open();
    };
  }

  /** Resolves once reads may go on. */
  async readsOpen(): Promise<void> {
    while (this.#readGate) await this.#readGate;
  }

  /** Whether `o` goes out now: false when a fault drops it or holds it back. */
  pass(o: Outgoing): boolean {
    for (let i = 0; i < this.#drops.length; i++) {
      const d = this.#drops[i]!;
      if (!d.match(o.m)) continue;
      if (--d.left <= 0) this.#drops.splice(i, 1);
      return false;
    }
    for (const h of this.#holds) {
      if (h.match(o.m)) {
        h.items.push(o);
        return false;
      }
    }
    return true;
  }
}

function send(o: Outgoing): void {
  for (const s of o.to) s.fn(o.m, o.prev);
}

/**
 * The live messages of one stream. Per subject it keeps the sequence of the
 * newest message still stored (forgotten when that message goes), which a
 * new message names as its previous one.
 */
export class MemoryLive {
  readonly #store: LiveStore;
  readonly #faults: LiveFaultState;
  readonly #subs = new Set<Subscriber>();
  readonly #lastOf = new Map<string, number>();
  #queue: Outgoing[] = [];
  #scheduled = false;
  #closed = false;

  constructor(store: LiveStore, faults: LiveFaultState) {
    this.#store = store;
    this.#faults = faults;
  }

  /** Called by the stream for every message it stores, in order. */
  stored(m: StoredMessage): void {
    const prev = this.#lastOf.get(m.subject) ?? 0;
    this.#lastOf.set(m.subject, m.seq);
    if (this.#closed || this.#subs.size === 0) return;
    const to: Subscriber[] = [];
    for (const s of this.#subs) if (subjectMatches(s.subject, m.subject)) to.push(s);
    if (to.length === 0) return;
    this.#queue.push({ m, prev, to });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushQueue);
    }
  }

  /** Called by the stream for every message it no longer stores. */
  removed(m: StoredMessage): void {
    if (this.#lastOf.get(m.subject) === m.seq) this.#lastOf.delete(m.subject);
  }

  /** Called when the stream drops everything. */
  cleared(): void {
    this.#lastOf.clear();
  }

  close(): void {
    this.#closed = true;
    this.#subs.clear();
    this.#queue = [];
  }

  readonly #flushQueue = (): void => {
    this.#scheduled = false;
    const q = this.#queue;
    this.#queue = [];
    for (const o of q) {
      // A subscriber gone since the message was stored gets nothing more.
      o.to = o.to.filter((s) => this.#subs.has(s));
      if (o.to.length > 0 && this.#faults.pass(o)) send(o);
    }
  };

  source(): LiveSubjectSource {
    return {
      subscribe: (subject, fn) => {
        const s: Subscriber = { subject, fn };
        this.#subs.add(s);
        return () => {
          this.#subs.delete(s);
        };
      },
      // Subscriptions are active at once; a flush waits for what is on its way.
      flush: () => new Promise((r) => setImmediate(r)),
      onLoss: (fn) => {
        this.#faults.lossListeners.add(fn);
        return () => {
          this.#faults.lossListeners.delete(fn);
        };
      },
      read: (fromSeq, toSeq, subject) => this.#read(fromSeq, toSeq, subject),
      lastSeq: async () => this.#store.lastSeq(),
    };
  }

  async *#read(fromSeq: number, toSeq: number, subject?: string): AsyncIterable<StoredMessage> {
    await this.#faults.readsOpen();
    yield* this.#store.read(fromSeq, toSeq, subject);
  }
}
