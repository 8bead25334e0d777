/** The channel feed's settings (channel-feed.ts). */
import type { LiveSubjectSource, StoredMessage } from "../broker/types.js";
import type { RepairReason } from "./feed-reads.js";

export const DEFAULT_MAX_SCAN = 100_000;
export const DEFAULT_SYNC_MS = 1_000;
export const DEFAULT_MAX_HELD = 10_000;

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
