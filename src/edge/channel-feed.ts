/**
 * The edge's one reader of the channel stream: one broker subscription per
 * channel that has local subscribers, none for the others. The stream
 * republishes what it stores (JetStream RePublish, or its in-memory twin);
 * the feed subscribes to the republished messages of each watched channel
 * and hands them to the hub in stream order, each once.
 *
 * Why it can: the stream is the one publisher, so the messages of all
 * watched channels arrive in sequence order on the edge's one connection.
 * They stop arriving only when the connection drops or the stream's leader
 * changes, and each message says which of its channel's messages came
 * before it (`prevSeq`). The feed trusts that order and checks everything
 * else, in rounds (flush the subscriptions, ask the stream for its last
 * sequence L, read what is missing up to L):
 *
 * - **A new channel** starts at L: everything of it stored after L arrives
 *   live; what is at or below L is history (`since`). While the round runs,
 *   live messages are held, so none is handed over ahead of a message of the
 *   new channel that came before it.
 * - **A loss** (a disconnect, a reconnect, a new leader): the feed holds
 *   what arrives, then reads everything of its channels after its
 *   *verified* position (not its position: after a leader change, messages
 *   the old leader stored and never republished lie below later ones that
 *   did arrive), and hands over the merge in order.
 * - **A gap** (a message whose channel's previous message never came): the
 *   channel's missing messages are read back before it, and nothing later
 *   passes them. When the read shows them gone (deleted, aged out, pushed
 *   out by the per-channel cap), the feed says so (`onGone`) and moves on:
 *   it never waits for a message that cannot come.
 * - **Verification** (every `syncMs`): the feed reads what its channels
 *   stored between its verified position and L, without holding live
 *   messages, hands over anything missing (late), and moves the verified
 *   position to L. A loss nobody signalled is found there at the latest.
 *
 * A message found missing after a later one was handed over comes out
 * `late`: the hub sends it to the connections that have not passed it and
 * makes the others resume from before it. Nothing is lost; a client may see
 * a message twice. Rounds that fail, or that hand nothing over while
 * messages wait, are retried with a growing delay: no busy loop.
 */
import type { LiveLoss, LiveSubjectSource, StoredMessage } from "../broker/types.js";

export type RepairReason = "gap" | "loss" | "end";

export interface ChannelFeedOptions {
  source: LiveSubjectSource;
  /** Everything up to this sequence counts as handed over and verified. */
  position: number;
  /** Each message, in stream order unless `late`: below one handed over before. */
  onMessage: (m: StoredMessage, late: boolean) => void;
  /**
   * The stream no longer has `subject`'s messages between `afterSeq` and
   * `nextSeq` (exclusive) that this feed never handed over; the next one it
   * hands over of that subject is at `nextSeq`.
   */
  onGone?: (subject: string, afterSeq: number, nextSeq: number) => void;
  /** Told of each message read back from the stream: after a gap in its channel, a loss, or by verification (end). */
  onRepair?: (reason: RepairReason) => void;
  /** A round failed; it is tried again with a growing delay. */
  onError?: (err: unknown) => void;
  /** A sweep that would scan more stream messages than this reads channel by channel instead. */
  maxScan?: number;
  /** How often the feed verifies what it handed over against the stream, ms. Default 1000. */
  syncMs?: number;
  /** Live messages held during a round; past it they are dropped and read back from the stream. Default 10000. */
  maxHeld?: number;
  /**
   * Messages the stream keeps per subject: when a read of a subject finds
   * that many, all after what was handed over, older ones may have been
   * pushed out unseen, and are said gone.
   */
  maxMsgsPerSubject?: number | undefined;
}

interface Item {
  subject: string;
  m: StoredMessage;
  /** The subject's previous sequence, for a live message; -1 for one read from the stream. */
  prev: number;
  /** Why it was read from the stream (counted once it is handed over: a copy that also came live is not). */
  repair?: RepairReason;
}

interface Pending {
  promise: Promise<number>;
  resolve: (since: number) => void;
  reject: (err: Error) => void;
}

const DEFAULT_MAX_SCAN = 100_000;
const DEFAULT_SYNC_MS = 1_000;
const DEFAULT_MAX_HELD = 10_000;
const MAX_BACKOFF_MS = 5_000;
/** What one read of a single subject costs, in scanned messages (a consumer is created for it). */
const READ_COST = 32;

export class ChannelFeed {
  readonly #o: ChannelFeedOptions;
  readonly #unsubscribe = new Map<string, () => void>();
  /** Established subjects: the last sequence handed over, or the start. */
  readonly #last = new Map<string, number>();
  /** Established subjects: where their live messages start. */
  readonly #since = new Map<string, number>();
  /** Subscribed, waiting for a round to find their start. */
  readonly #pending = new Map<string, Pending>();
  /** Subjects to read back, from after the given sequence. */
  #repairs = new Map<string, number>();
  #recover = false;
  #verify = false;
  /** Waiting for the verified position to reach a sequence. */
  #verifiers: { seq: number; resolve: () => void }[] = [];
  readonly #syncTimer: NodeJS.Timeout;
  /** Live messages held while a round runs; undefined while they are handed over as they come. */
  #held: Item[] | undefined;
  #position: number;
  #verified: number;
  #rounds: Promise<void> | undefined;
  #stopped = false;
  readonly #stopLoss: () => void;

  constructor(o: ChannelFeedOptions) {
    this.#o = o;
    this.#position = o.position;
    this.#verified = o.position;
    this.#stopLoss = o.source.onLoss((why) => this.#loss(why));
    this.#syncTimer = setInterval(() => {
      if (!this.#stopped) this.#requestVerify();
    }, o.syncMs ?? DEFAULT_SYNC_MS);
    this.#syncTimer.unref();
  }

  /** The sequence of the newest message handed over (or found absent by a read). */
  get position(): number {
    return this.#position;
  }

  /**
   * Every message of every established subject up to this sequence has been
   * handed over, or said gone: checked against the stream, not only trusted.
   */
  get verified(): number {
    return this.#verified;
  }

  /** Whether messages are known or suspected missing: a round is held open to read them. */
  get repairing(): boolean {
    return this.#held !== undefined;
  }

  /** Broker subscriptions held now. */
  get subscriptions(): number {
    return this.#unsubscribe.size;
  }

  /** Where the subject's live messages start, once it is established; undefined before. */
  since(subject: string): number | undefined {
    return this.#since.get(subject);
  }

  /**
   * Subscribes to `subject` (once) and resolves with the sequence its live
   * messages start after: every message of it stored later is handed over.
   */
  watch(subject: string): Promise<number> {
    const since = this.#since.get(subject);
    if (since !== undefined) return Promise.resolve(since);
    const waiting = this.#pending.get(subject);
    if (waiting) return waiting.promise;
    if (this.#stopped) return Promise.reject(new Error("channel feed stopped"));
    let resolve!: (n: number) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be left waiting on a rejection nobody handles.
    promise.catch(() => {});
    this.#pending.set(subject, { promise, resolve, reject });
    // Hold from now: the subject's first messages may come before its start is known.
    this.#held ??= [];
    this.#unsubscribe.set(
      subject,
      this.#o.source.subscribe(subject, (m, prev) => this.#live(subject, m, prev)),
    );
    this.#schedule();
    return promise;
  }

  /** Drops the subscription: nothing more of `subject` is handed over. */
  unwatch(subject: string): void {
    this.#unsubscribe.get(subject)?.();
    this.#unsubscribe.delete(subject);
    this.#last.delete(subject);
    this.#since.delete(subject);
    this.#repairs.delete(subject);
    const p = this.#pending.get(subject);
    if (p) {
      this.#pending.delete(subject);
      p.reject(new Error(`${subject}: unwatched`));
    }
  }

  /**
   * Resolves once the verified position reaches the position as of now: a
   * sweep of the stream found nothing missing below it, or handed it over.
   */
  verify(): Promise<void> {
    const seq = this.#position;
    if (this.#verified >= seq && !this.#held) return Promise.resolve();
    if (this.#stopped) return Promise.reject(new Error("channel feed stopped"));
    return new Promise((resolve) => {
      this.#verifiers.push({ seq, resolve });
      this.#requestVerify();
    });
  }

  /** Resolves once no round holds messages back (at once when none does). */
  async settled(): Promise<void> {
    while (this.#held && this.#rounds && !this.#stopped) await this.#rounds;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#syncTimer);
    this.#stopLoss();
    for (const s of [...this.#unsubscribe.keys()]) this.unwatch(s);
    this.#held = undefined;
    for (const v of this.#verifiers) v.resolve();
    this.#verifiers = [];
  }

  #requestVerify(): void {
    this.#verify = true;
    this.#schedule();
  }

  #live(subject: string, m: StoredMessage, prev: number): void {
    if (this.#stopped || !this.#unsubscribe.has(subject)) return;
    const it: Item = { subject, m, prev };
    if (this.#held) {
      // Bounded whatever the broker does: what does not fit is read back from the stream (the
      // next round's end is past it, since it arrived before that round asks).
      if (this.#held.length < (this.#o.maxHeld ?? DEFAULT_MAX_HELD)) this.#held.push(it);
      else this.#recover = true;
    } else if (!this.#take(it)) {
      this.#held = [it];
      this.#schedule();
    }
  }

  #loss(why: LiveLoss): void {
    if (this.#stopped) return;
    // From a disconnect on, hold everything: after the reconnect, what was
    // missed is read first. The read itself waits for the reconnect.
    this.#recover = true;
    this.#held ??= [];
    if (why !== "disconnect") this.#schedule();
  }

  /**
   * Hands `it` over, or drops it when it was handed over already. False when
   * its subject's previous message never came: then it is kept for a round
   * that reads the missing ones first.
   */
  #take(it: Item): boolean {
    const last = this.#last.get(it.subject);
    if (last === undefined) return false;
    if (it.m.seq <= last) return true;
    if (it.prev > last) {
      const from = this.#repairs.get(it.subject);
      this.#repairs.set(it.subject, from === undefined ? last : Math.min(from, last));
      return false;
    }
    this.#hand(it);
    return true;
  }

  #hand(it: Item): void {
    this.#last.set(it.subject, it.m.seq);
    if (it.repair) this.#o.onRepair?.(it.repair);
    const late = it.m.seq < this.#position;
    if (!late) this.#position = it.m.seq;
    this.#o.onMessage(it.m, late);
  }

  #schedule(): void {
    if (this.#rounds || this.#stopped) return;
    this.#rounds = this.#run();
  }

  async #run(): Promise<void> {
    let failures = 0;
    // One turn first: the watches of a burst of connections share a round.
    await new Promise((r) => setImmediate(r));
    while (!this.#stopped && (this.#held || this.#verify)) {
      let progressed: boolean;
      try {
        progressed = await this.#round();
        failures = 0;
      } catch (err) {
        if (this.#stopped) break;
        this.#o.onError?.(err);
        progressed = false;
      }
      if (!progressed && !this.#stopped) {
        failures++;
        await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(failures, 7))));
      }
    }
    this.#rounds = undefined;
  }

  /**
   * One round: the stream's last sequence, then what is missing up to it.
   * True when it moved anything on (handed something over, established a
   * subject, moved the verified position, or had nothing left to do).
   */
  async #round(): Promise<boolean> {
    const src = this.#o.source;
    const holding = this.#held !== undefined;
    const fresh = holding ? [...this.#pending.keys()] : [];
    const recover = this.#recover;
    const sweep = recover || this.#verify;
    const repairs = this.#repairs;
    const verifiedFrom = this.#verified;
    this.#recover = false;
    this.#verify = false;
    this.#repairs = new Map();
    const read: Item[] = [];
    /** Subjects whose every message in (their last, L] is in `read`. */
    const covered = new Set<string>();
    let last: number;
    try {
      // The server has every subscription made so far, so whatever the
      // stream stores after `last` reaches this feed.
      await src.flush();
      last = await src.lastSeq();
      const reason: RepairReason = recover ? "loss" : "end";
      if (sweep && last > verifiedFrom && this.#last.size > 0) {
        const span = last - verifiedFrom;
        if (span <= (this.#o.maxScan ?? DEFAULT_MAX_SCAN) && span <= this.#last.size * READ_COST) {
          for await (const m of src.read(verifiedFrom + 1, last)) {
            const l = this.#last.get(m.subject);
            if (l !== undefined && m.seq > l) read.push({ subject: m.subject, m, prev: -1, repair: reason });
          }
        } else {
          for (const [s, l] of [...this.#last]) {
            for await (const m of src.read(l + 1, last, s))
              read.push({ subject: s, m, prev: -1, repair: reason });
          }
        }
        for (const s of this.#last.keys()) covered.add(s);
      }
      for (const [s, from] of repairs) {
        if (!this.#last.has(s) || covered.has(s)) continue;
        for await (const m of src.read(from + 1, last, s))
          read.push({ subject: s, m, prev: -1, repair: "gap" });
        covered.add(s);
      }
    } catch (err) {
      // Nothing was handed over: the next round does it all again.
      this.#recover ||= recover;
      this.#verify ||= sweep;
      for (const [s, from] of repairs) {
        const f = this.#repairs.get(s);
        this.#repairs.set(s, f === undefined ? from : Math.min(f, from));
      }
      throw err;
    }
    const capped = this.#capped(read);
    if (!holding && !this.#held) {
      // A sweep while live messages were handed over as they came: what it found is late or new.
      read.sort((a, b) => a.m.seq - b.m.seq);
      for (const it of read) {
        if (!this.#unsubscribe.has(it.subject)) continue;
        this.#capGone(it, capped);
        this.#take(it);
      }
      this.#verifiedUpTo(last);
      return true;
    }
    let progressed = read.length > 0 || fresh.length > 0;
    const established: Pending[] = [];
    for (const s of fresh) {
      const p = this.#pending.get(s);
      if (!p) continue; // unwatched meanwhile
      this.#pending.delete(s);
      this.#last.set(s, last);
      this.#since.set(s, last);
      established.push(p);
    }
    const items = read.concat(this.#held ?? []);
    this.#held = undefined;
    // By sequence; a message both read and live is taken live (so not counted as repaired).
    items.sort((a, b) => a.m.seq - b.m.seq || b.prev - a.prev);
    // Another round is due (watches or losses that came meanwhile): only what
    // is at or below `last` can be handed over before it.
    const more = () => this.#pending.size > 0 || this.#recover || this.#repairs.size > 0;
    const keep: Item[] = [];
    let blocked = false;
    for (const it of items) {
      if (!this.#unsubscribe.has(it.subject)) continue;
      if (!blocked && it.m.seq <= last) {
        this.#declareGone(it, covered);
        this.#capGone(it, capped);
      }
      if (blocked || (it.m.seq > last && more()) || !this.#take(it)) {
        keep.push(it);
        // After a gap, nothing later may pass the missing messages.
        if (this.#last.has(it.subject)) blocked = true;
      } else progressed = true;
    }
    if (keep.length > 0 || more()) this.#held = keep;
    // After a sweep every established subject has been read up to `last`: the verified
    // position moves there, unless something at or below it is still kept back.
    if (sweep && !keep.some((it) => it.m.seq <= last)) {
      progressed ||= last > this.#verified;
      this.#verifiedUpTo(last);
    }
    for (const p of established) p.resolve(last);
    return progressed || keep.length === 0;
  }

  /**
   * Per subject, the first message of a read that found the subject's whole
   * kept history new (`maxMsgsPerSubject` of them, the first not right after
   * what was handed over): older ones may have been pushed out unseen.
   */
  #capped(read: readonly Item[]): Map<string, number> {
    const out = new Map<string, number>();
    const cap = this.#o.maxMsgsPerSubject;
    if (!cap || cap <= 0) return out;
    const counts = new Map<string, { first: number; count: number }>();
    for (const it of read) {
      const c = counts.get(it.subject);
      if (c) {
        c.count++;
        if (it.m.seq < c.first) c.first = it.m.seq;
      } else counts.set(it.subject, { first: it.m.seq, count: 1 });
    }
    for (const [s, c] of counts) {
      const last = this.#last.get(s);
      if (last !== undefined && c.count >= cap && c.first > last + 1) out.set(s, c.first);
    }
    return out;
  }

  /** Before the first read message of a subject whose older messages may have been pushed out: say so. */
  #capGone(it: Item, capped: Map<string, number>): void {
    if (capped.get(it.subject) !== it.m.seq) return;
    capped.delete(it.subject);
    const last = this.#last.get(it.subject);
    if (last !== undefined && it.m.seq > last + 1) this.#o.onGone?.(it.subject, last, it.m.seq);
  }

  /**
   * A live message whose subject's previous message never came, after a read
   * of that subject up to past it: what the read did not find is gone.
   */
  #declareGone(it: Item, covered: ReadonlySet<string>): void {
    const last = this.#last.get(it.subject);
    if (last === undefined || it.prev <= last || !covered.has(it.subject)) return;
    this.#o.onGone?.(it.subject, last, it.m.seq);
    this.#last.set(it.subject, it.prev);
  }

  #verifiedUpTo(seq: number): void {
    if (seq > this.#verified) this.#verified = seq;
    if (this.#verified > this.#position) this.#position = this.#verified;
    if (this.#verifiers.length === 0) return;
    const still: { seq: number; resolve: () => void }[] = [];
    for (const v of this.#verifiers) {
      if (v.seq <= this.#verified) v.resolve();
      else still.push(v);
    }
    this.#verifiers = still;
  }
}
