/**
 * The edge's one reader of the channel stream: one broker subscription per
 * channel that has local subscribers, none for the others. The stream
 * republishes what it stores, so the messages of all watched channels
 * arrive in sequence order on the edge's one connection, each naming its
 * channel's previous sequence. The feed trusts that order and checks the
 * rest in rounds (flush the subscriptions, ask the stream for its last
 * sequence L, read what is missing up to L; feed-reads.ts), and hands each
 * message to the hub once, in stream order (docs/edge.md has the why):
 *
 * - a new channel starts at L (its history is at or below L); live
 *   messages are held while the round runs;
 * - after a loss (disconnect, reconnect, new leader) it reads its channels
 *   from its verified position, not its position, holding what arrives;
 * - a gap (a channel's previous message never came) is read back before
 *   anything later passes it; what the read shows gone is said (`onGone`),
 *   and the feed moves on;
 * - every `syncMs` it verifies, without holding live messages, that it has
 *   everything up to L, and moves its verified position there.
 *
 * A message found missing after a later one was handed over comes out
 * `late`. Rounds that fail or move nothing on back off (up to 5 s).
 */
import type { LiveLoss, StoredMessage } from "../broker/types.js";
import {
  type ChannelFeedOptions,
  DEFAULT_MAX_HELD,
  DEFAULT_MAX_SCAN,
  DEFAULT_SYNC_MS,
} from "./channel-feed-options.js";
import { type Deferred, deferred } from "./deferred.js";
import { cappedSubjects, type Item, readMissing } from "./feed-reads.js";

export type { ChannelFeedOptions } from "./channel-feed-options.js";
export type { RepairReason } from "./feed-reads.js";

type Pending = Deferred<number>;

const MAX_BACKOFF_MS = 5_000;

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
    const pending = deferred<number>();
    this.#pending.set(subject, pending);
    // Hold from now: the subject's first messages may come before its start is known.
    this.#held ??= [];
    this.#unsubscribe.set(
      subject,
      this.#o.source.subscribe(subject, (m, prev) => this.#live(subject, m, prev)),
    );
    this.#schedule();
    return pending.promise;
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
      await readMissing(src, {
        last,
        handed: this.#last,
        sweepFrom: sweep ? verifiedFrom : undefined,
        reason: recover ? "loss" : "end",
        repairs,
        maxScan: this.#o.maxScan ?? DEFAULT_MAX_SCAN,
        read,
        covered,
      });
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
    const capped = cappedSubjects(read, this.#last, this.#o.maxMsgsPerSubject);
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
