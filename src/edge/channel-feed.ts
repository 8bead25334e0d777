/**
 * The edge's interest-based reader of the channel stream: one broker
 * subscription per channel that has local subscribers, none for the others.
 * The channel stream republishes what it stores (JetStream RePublish); the
 * feed subscribes to the republished messages of each watched channel and
 * hands them to the hub in stream order, each once.
 *
 * Why it can: NATS delivers one publisher's messages in order, and here the
 * publisher is the stream, so the messages of all watched channels arrive in
 * sequence order on the edge's one connection. They stop arriving only when
 * the connection drops or the stream's leader changes, and each message says
 * which of its channel's messages came before it (`prevSeq`). The feed trusts
 * that order and checks everything else:
 *
 * - **A new channel** starts after a point the stream has passed: the feed
 *   subscribes, waits until the server has the subscription, and asks the
 *   stream for its last sequence L. Everything of the channel stored after L
 *   arrives live; what is at or below L is history (`since`). While that
 *   round trip runs, every live message is held, so none is handed over
 *   ahead of a message of the new channel that came before it.
 * - **A loss** (a disconnect, a reconnect, a new leader): the feed holds
 *   what arrives, then reads everything of its channels from its position
 *   up to the stream's last sequence, and hands over the merge in order.
 * - **A gap** (a message whose channel's previous message never came): that
 *   channel's missing messages are read back before it.
 *
 * - **A quiet period** (nothing live for `syncMs`): the feed asks the
 *   stream for its last sequence and, when only a few messages came since
 *   its position (`idleScan`), reads them and moves its position there. So
 *   an edge whose channels are quiet still reports how far it is complete
 *   (the audit compares that with the stream), at the cost of reading a few
 *   messages of other channels now and then; past `idleScan` it waits for
 *   its own channels' next message instead.
 *
 * A message found missing after a later one was handed over comes out
 * `late`: the hub then sends it to those connections that have not passed
 * it and makes the others resume from before it (hub.ts). Nothing is lost;
 * a client may see a message twice.
 */
import type { LiveLoss, LiveSubjectSource, StoredMessage } from "../broker/types.js";

export interface ChannelFeedOptions {
  source: LiveSubjectSource;
  /** Everything up to this sequence counts as handed over. */
  position: number;
  /** Each message, in stream order unless `late`: below one handed over before (found missing after a loss). */
  onMessage: (m: StoredMessage, late: boolean) => void;
  /** Told of each message read back from the stream: after a gap in its channel, a loss, or a quiet period (end). */
  onRepair?: (reason: "gap" | "loss" | "end") => void;
  /** A round (subscribe, flush, read) failed; it is tried again with a growing delay. */
  onError?: (err: unknown) => void;
  /** A recovery that would scan more stream messages than this reads channel by channel instead. */
  maxScan?: number;
  /** A period with nothing live after which the position is brought up to the stream's end, ms. Default 1000. */
  syncMs?: number;
  /** Most messages read to bring the position up after a quiet period. Default 1000. */
  idleScan?: number;
  /** Live messages held during a round; past it they are dropped and read back from the stream. Default 100000. */
  maxHeld?: number;
}

interface Item {
  subject: string;
  m: StoredMessage;
  /** The subject's previous sequence, for a live message; -1 for one read from the stream. */
  prev: number;
  /** Why it was read from the stream (counted once it is handed over: a copy that also came live is not). */
  repair?: "gap" | "loss" | "end";
}

interface Pending {
  promise: Promise<number>;
  resolve: (since: number) => void;
  reject: (err: Error) => void;
}

const DEFAULT_MAX_SCAN = 100_000;
const DEFAULT_SYNC_MS = 1_000;
const DEFAULT_IDLE_SCAN = 1_000;
const DEFAULT_MAX_HELD = 100_000;
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
  /** A quiet period passed: the next round may bring the position up to the stream's end. */
  #refresh = false;
  #liveSeen = false;
  readonly #syncTimer: NodeJS.Timeout;
  /** Live messages held while a round runs; undefined while they are handed over as they come. */
  #held: Item[] | undefined;
  #position: number;
  #rounds: Promise<void> | undefined;
  #stopped = false;
  readonly #stopLoss: () => void;

  constructor(o: ChannelFeedOptions) {
    this.#o = o;
    this.#position = o.position;
    this.#stopLoss = o.source.onLoss((why) => this.#loss(why));
    this.#syncTimer = setInterval(() => {
      if (this.#liveSeen) this.#liveSeen = false;
      else if (!this.#held && !this.#stopped) {
        this.#refresh = true;
        this.#held = [];
        this.#schedule();
      }
    }, o.syncMs ?? DEFAULT_SYNC_MS);
    this.#syncTimer.unref();
  }

  /** The sequence up to which every message of every established subject has been handed over. */
  get position(): number {
    return this.#position;
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

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#syncTimer);
    this.#stopLoss();
    for (const s of [...this.#unsubscribe.keys()]) this.unwatch(s);
    this.#held = undefined;
  }

  #live(subject: string, m: StoredMessage, prev: number): void {
    if (this.#stopped || !this.#unsubscribe.has(subject)) return;
    this.#liveSeen = true;
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
    this.#last.set(it.subject, it.m.seq);
    if (it.repair) this.#o.onRepair?.(it.repair);
    const late = it.m.seq < this.#position;
    if (!late) this.#position = it.m.seq;
    this.#o.onMessage(it.m, late);
    return true;
  }

  #schedule(): void {
    if (this.#rounds || this.#stopped) return;
    this.#rounds = this.#run();
  }

  async #run(): Promise<void> {
    let failures = 0;
    // One turn first: the watches of a burst of connections share a round.
    await new Promise((r) => setImmediate(r));
    while (!this.#stopped && this.#held) {
      try {
        await this.#round();
        failures = 0;
      } catch (err) {
        if (this.#stopped) break;
        failures++;
        this.#o.onError?.(err);
        await new Promise((r) => setTimeout(r, Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(failures, 7))));
      }
    }
    this.#rounds = undefined;
  }

  async #round(): Promise<void> {
    const src = this.#o.source;
    const fresh = [...this.#pending.keys()];
    const recover = this.#recover;
    const refresh = this.#refresh;
    const repairs = this.#repairs;
    this.#recover = false;
    this.#refresh = false;
    this.#repairs = new Map();
    const read: Item[] = [];
    let last: number;
    let scan = false;
    let scanned = 0;
    try {
      // The server has every subscription made so far, so whatever the
      // stream stores after `last` reaches this feed.
      await src.flush();
      last = await src.lastSeq();
      scan =
        recover ||
        (refresh &&
          last > this.#position &&
          last - this.#position <= (this.#o.idleScan ?? DEFAULT_IDLE_SCAN));
      if (scan) {
        if (last - this.#position <= (this.#o.maxScan ?? DEFAULT_MAX_SCAN)) {
          for await (const m of src.read(this.#position + 1, last)) {
            const l = this.#last.get(m.subject);
            if (l !== undefined && m.seq > l) read.push({ subject: m.subject, m, prev: -1 });
          }
          // The scan covers what a repair would read only from the position on.
          for (const [s, from] of repairs) if (this.#last.has(s) && from >= this.#position) repairs.delete(s);
        } else {
          for (const [s, l] of this.#last) repairs.set(s, Math.min(repairs.get(s) ?? l, l));
        }
      }
      scanned = read.length;
      for (const [s, from] of repairs) {
        if (!this.#last.has(s)) continue;
        for await (const m of src.read(from + 1, last, s)) read.push({ subject: s, m, prev: -1 });
      }
    } catch (err) {
      // Nothing was handed over: the next round does it all again.
      this.#recover ||= recover;
      for (const [s, from] of repairs) {
        const f = this.#repairs.get(s);
        this.#repairs.set(s, f === undefined ? from : Math.min(f, from));
      }
      throw err;
    }
    for (let i = 0; i < read.length; i++) read[i]!.repair = recover ? "loss" : i >= scanned ? "gap" : "end";
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
      if (blocked || (it.m.seq > last && more()) || !this.#take(it)) {
        keep.push(it);
        // After a gap, nothing later may pass the missing messages.
        if (this.#last.has(it.subject)) blocked = true;
      }
    }
    // After a scan every established subject has been read up to `last`: the position
    // moves there, unless something at or below it is still kept back.
    if (scan && !keep.some((it) => it.m.seq <= last)) this.#position = Math.max(this.#position, last);
    if (keep.length > 0 || more()) this.#held = keep;
    for (const p of established) p.resolve(last);
  }
}
