/** Messages between the load generator's coordinator and its client processes (over the fork IPC channel). */
import type { HistogramData } from "./histogram.js";

export interface ConnectCommand {
  cmd: "connect";
  host: string;
  port: number;
  /** The request path of each connection to open; `channelOf[i]` is its channel index. */
  paths: string[];
  channelOf: number[];
  /** Source address of every connection (one 127.0.0.x per process spreads the ephemeral ports). */
  localAddress: string;
  /** Connections being opened at once. */
  concurrency: number;
  /** Messages per channel the run may publish at most (sizes the per-connection tallies). */
  maxPerChannel: number;
}

/** From now on, latency counts only messages numbered at or above `from[channel]`. */
export interface MeasureCommand {
  cmd: "measure";
  from: number[];
}

/** Tally messages [from[c], to[c]) of each connection's channel. */
export interface ReportCommand {
  cmd: "report";
  to: number[];
}

export interface CloseCommand {
  cmd: "close";
}

export type Command = ConnectCommand | MeasureCommand | ReportCommand | CloseCommand;

export interface Connected {
  type: "connected";
  ok: number;
  failed: number;
  /** A few failure reasons, for the report. */
  errors: string[];
}

export interface Report {
  type: "report";
  /** Connections still open. */
  open: number;
  /** Connections the server closed (or that failed) after opening. */
  dropped: number;
  /** Marker frames received in the measured range, duplicates included. */
  deliveries: number;
  /** Expected deliveries that have not arrived. */
  lost: number;
  /** Deliveries beyond the first of the same message on the same connection. */
  duplicates: number;
  /** Markers numbered outside what the run published. */
  strays: number;
  latency: HistogramData;
  /** Earliest and latest arrival of a measured message, wall-clock microseconds. */
  firstUs: number;
  lastUs: number;
}

export type Reply = Connected | Report;
