/** What a replay is asked to do, and what it records as it goes. */

/** Which stored messages a replay covers. Sequences win over times when both are given. */
export interface ReplayRange {
  /** First sequence (inclusive). */
  fromSeq?: number;
  /** Last sequence (inclusive); default: the stream's last sequence when the replay starts. */
  toSeq?: number;
  /** Start at the first message stored at or after this time, Unix ms. */
  since?: number;
  /** End with the last message stored before this time, Unix ms. */
  until?: number;
}

export interface ReplayRequest extends ReplayRange {
  /**
   * "events": re-render events of the events stream through the current
   * handlers and publish the results to their channels.
   * "channel": resend one channel's stored messages to its current subscribers.
   */
  mode: "events" | "channel";
  /** events mode: only this event type. */
  type?: string;
  /** events mode: only events with this ordering key. */
  key?: string;
  /** channel mode: the channel to resend. */
  channel?: string;
  /** Most events (or messages) per second; 0 or absent: no limit. */
  rate?: number;
}

export interface ReplayCounts {
  /** Stored messages read from the range (after the subject filter). */
  scanned: number;
  /** Events (or channel messages) that matched the filters and were handled. */
  matched: number;
  /** Channel messages stored. */
  published: number;
  /** Channel messages the stream already held under the same dedupe id (a resumed batch). */
  duplicates: number;
  /** Events that could not be rendered (bad bytes, unknown type, a handler that throws). */
  failed: number;
}

/** The checkpoint of a replay: everything needed to resume it. */
export interface ReplayCheckpoint {
  id: string;
  request: ReplayRequest;
  /** Resolved bounds (inclusive). */
  from: number;
  to: number;
  /** The next sequence to read; `to + 1` once done. */
  next: number;
  status: "running" | "stopped" | "done";
  counts: ReplayCounts;
  startedAt: number;
  updatedAt: number;
}

export const emptyCounts = (): ReplayCounts => ({
  scanned: 0,
  matched: 0,
  published: 0,
  duplicates: 0,
  failed: 0,
});
