/**
 * What a round of the channel feed reads back from the stream (channel-feed.ts):
 * the messages of its subjects it has not handed over, up to the stream's
 * last sequence, either by scanning the stream once or by reading subject
 * by subject, whichever reads less; and which subjects such a read shows
 * may have lost older messages to the per-subject cap.
 */
import type { LiveSubjectSource, StoredMessage } from "../broker/types.js";

export type RepairReason = "gap" | "loss" | "end";

/** A message on its way through the feed. */
export interface Item {
  subject: string;
  m: StoredMessage;
  /** The subject's previous sequence, for a live message; -1 for one read from the stream. */
  prev: number;
  /** Why it was read from the stream (counted once it is handed over: a copy that also came live is not). */
  repair?: RepairReason;
}

/** What one read of a single subject costs, in scanned messages (a consumer is created for it). */
const READ_COST = 32;

export interface MissingReads {
  /** The stream's last sequence: nothing after it is read. */
  last: number;
  /** Per established subject, the last sequence handed over. */
  handed: ReadonlyMap<string, number>;
  /** Sweep every subject, from after this sequence (the verified position); undefined: no sweep. */
  sweepFrom: number | undefined;
  /** Why a sweep reads. */
  reason: RepairReason;
  /** Subjects with a gap, to read from after the given sequence. */
  repairs: ReadonlyMap<string, number>;
  /** A sweep that would scan more than this reads subject by subject. */
  maxScan: number;
  /** Where what is read goes. */
  read: Item[];
  /** Subjects whose every message after their last handed over, up to `last`, is in `read`. */
  covered: Set<string>;
}

export async function readMissing(src: LiveSubjectSource, r: MissingReads): Promise<void> {
  const { last, handed, read, covered } = r;
  if (r.sweepFrom !== undefined && last > r.sweepFrom && handed.size > 0) {
    const span = last - r.sweepFrom;
    if (span <= r.maxScan && span <= handed.size * READ_COST) {
      for await (const m of src.read(r.sweepFrom + 1, last)) {
        const l = handed.get(m.subject);
        if (l !== undefined && m.seq > l) read.push({ subject: m.subject, m, prev: -1, repair: r.reason });
      }
    } else {
      for (const [s, l] of [...handed]) {
        for await (const m of src.read(l + 1, last, s))
          read.push({ subject: s, m, prev: -1, repair: r.reason });
      }
    }
    for (const s of handed.keys()) covered.add(s);
  }
  for (const [s, from] of r.repairs) {
    if (!handed.has(s) || covered.has(s)) continue;
    for await (const m of src.read(from + 1, last, s)) read.push({ subject: s, m, prev: -1, repair: "gap" });
    covered.add(s);
  }
}

/**
 * Per subject, the first message of a read that found the subject's whole
 * kept history new (`cap` messages, the first not right after what was
 * handed over): older ones may have been pushed out unseen.
 */
export function cappedSubjects(
  read: readonly Item[],
  handed: ReadonlyMap<string, number>,
  cap: number | undefined,
): Map<string, number> {
  const out = new Map<string, number>();
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
    const last = handed.get(s);
    if (last !== undefined && c.count >= cap && c.first > last + 1) out.set(s, c.first);
  }
  return out;
}
