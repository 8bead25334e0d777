/** Messages between a load test's coordinator and its subscriber processes (over the fork IPC channel). */
import type { HistogramData } from "./histogram.js";

/** Where subscribers connect: one address, one port, every subscriber its own request path. */
export interface StreamTarget {
  /** The address to connect to (resolved once by the coordinator). */
  address: string;
  port: number;
  tls: boolean;
  /** Host header (and TLS server name): the host as the user wrote it. */
  hostHeader: string;
  /** Extra request header lines, each ending in CRLF. */
  extraHeaders: string;
}

export interface SubscriberSpec {
  /** Index among all of the run's subscribers. */
  id: number;
  /** Index of the channel whose markers it expects. */
  channel: number;
  /** Request target, e.g. `/v1/sse?channel=thread:bench-3`. */
  path: string;
}

export interface StartCommand {
  cmd: "start";
  target: StreamTarget;
  subscribers: SubscriberSpec[];
  /** Source addresses, used in turn (empty: the system picks). */
  localAddresses: string[];
  /** Connections being opened at once. */
  concurrency: number;
  /** Reconnect delay until a stream sets one with `retry:`, ms. */
  retryMs: number;
  /** Longest delay between failed attempts (they back off from the reconnect delay), ms. */
  maxBackoffMs: number;
  /** An attempt that has no response head after this long fails, ms. */
  connectTimeoutMs: number;
  /** `connected` is sent once every subscriber's stream is open, or this long after the start at most, ms. */
  readyWithinMs: number;
  /** Second 0 of the run's time series starts here (wall-clock microseconds). */
  originUs: number;
}

/** From now on, the window's counters count only messages numbered at or above `from[channel]`. */
export interface MeasureCommand {
  cmd: "measure";
  from: number[];
}

/** Account for messages [from[c], to[c]) of each subscriber's channel. */
export interface ReportCommand {
  cmd: "report";
  from: number[];
  to: number[];
  /** Per channel, messages whose publish failed: not counted as lost when they did not arrive. */
  excused: number[][];
  /** Include one row per subscriber. */
  detail: boolean;
}

export interface CloseCommand {
  cmd: "close";
}

export type Command = StartCommand | MeasureCommand | ReportCommand | CloseCommand;

/** Sent once every subscriber of the process has an open stream, or when `readyWithinMs` has passed. */
export interface Connected {
  type: "connected";
  ok: number;
  failed: number;
  /** A few failure reasons, for the report. */
  errors: string[];
}

/** What subscribers counted, over a second or over a run. */
export interface EventCounts {
  /** Arrivals of a message already seen. */
  duplicates: number;
  /** Messages that arrived after one sent once they had been answered (tally.ts "late"). */
  outOfOrder: number;
  /** Markers of another channel than the subscriber's. */
  strays: number;
  /** Streams that opened (HTTP 200 event stream), first ones included. */
  connects: number;
  /** Of which were not a subscriber's first (a resume). */
  reconnects: number;
  /** Attempts that did not open a stream (refused, an HTTP error, a timeout). */
  failures: number;
  /** Open streams that ended (the server closed, an error frame, a reset socket). */
  closes: number;
  /** `reset`, `error` and `drain` frames. */
  resets: number;
  errors: number;
  drains: number;
}

export const emptyCounts = (): EventCounts => ({
  duplicates: 0,
  outOfOrder: 0,
  strays: 0,
  connects: 0,
  reconnects: 0,
  failures: 0,
  closes: 0,
  resets: 0,
  errors: 0,
  drains: 0,
});

/** What happened in one second of the run, in one process. Counts are events in that second. */
export interface SecondCounts extends EventCounts {
  /** Messages that arrived for the first time. */
  deliveries: number;
}

export interface Second extends SecondCounts {
  type: "second";
  /** Seconds since the run's origin. */
  s: number;
  /** Streams open at the end of the second. */
  open: number;
  /** Latency of the deliveries that arrived in this second. */
  latency: HistogramData;
}

/** One subscriber's account over the run. */
export interface SubscriberRow extends EventCounts {
  id: number;
  channel: number;
  /** Distinct messages of its channel that arrived. */
  delivered: number;
  /** Messages of its channel whose publish succeeded and that never arrived. */
  lost: number;
  /** Whether its stream is open now. */
  open: boolean;
  /** When its first stream opened, wall-clock ms (0: never). */
  firstOpenMs: number;
}

export type Totals = Omit<SubscriberRow, "id" | "channel" | "open" | "firstOpenMs"> & {
  /** Subscribers with an open stream now. */
  open: number;
  /** Subscribers whose stream never opened. */
  neverOpened: number;
};

export interface Report {
  type: "report";
  totals: Totals;
  /** Latency of every delivery of the run (duplicates included). */
  latency: HistogramData;
  /** Since the last `measure`: deliveries, duplicates and latency of messages at or above its `from`. */
  window: { deliveries: number; duplicates: number; latency: HistogramData };
  rows?: SubscriberRow[];
}

export type Reply = Connected | Report;
export type Message = Reply | Second;
