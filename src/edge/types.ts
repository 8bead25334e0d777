/**
 * A channel message ready to write: encoded once, shared by every connection.
 * `frame` may be built on first use (hub.ts frames a message only when a
 * connection or a resume needs it); an empty frame is a message that could
 * not be framed and is written to nobody.
 */
export interface Entry {
  readonly seq: number;
  readonly channel: string;
  readonly frame: Buffer;
}

/** What the connection needs of its socket (the edge passes the net.Socket itself; tests a fake). */
export interface SseSink {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(): void;
  readonly writableLength: number;
  once(event: "drain" | "close", fn: () => void): unknown;
}

export interface ConnectionLimits {
  /** Bytes queued (ours plus the socket's unsent bytes) before the client counts as too slow. */
  maxQueuedBytes: number;
  /** Frames queued, or live frames held during a resume, before the client counts as too slow. */
  maxQueuedFrames: number;
  /** How long the socket may stay blocked (a write returned false, no 'drain' since), ms. */
  stallTimeoutMs: number;
  /** After the final frame, how long the client has to read it before the socket is destroyed, ms. */
  closeGraceMs: number;
}

/** Why a connection ended: the label of realer_edge_drops_total, and the `reason` of `event: error`. */
export type CloseReason =
  | "client"
  | "slow"
  | "stalled"
  | "token-expired"
  | "resume-failed"
  | "drain"
  | "rewind";
