/**
 * SSE ids: `<epoch>-<seq>`. `seq` is the channel-stream sequence; `epoch`
 * names the stream's identity (its creation time in base 36), so an id from
 * a stream that was deleted and recreated, or from another deployment, is
 * recognised instead of being mistaken for a position in this one. The bare
 * sequence form (`42`) is still accepted and read as this epoch.
 * Pure: no I/O.
 */
import { LastEventIdInvalid } from "../errors.js";

export interface EventId {
  /** Undefined for the bare-sequence form. */
  epoch: string | undefined;
  seq: number;
}

const ID_RE = /^(?:([0-9a-z]{1,12})-)?(\d{1,15})$/;

/** The epoch of a stream created at `createdMs` (Unix ms). */
export function epochOf(createdMs: number): string {
  return Math.max(0, Math.floor(createdMs)).toString(36);
}

export function formatId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`;
}

/** Parses a Last-Event-ID; throws REALER_ERR_LAST_EVENT_ID_INVALID on anything malformed. */
export function parseId(raw: string): EventId {
  const m = ID_RE.exec(raw);
  if (!m) throw new LastEventIdInvalid(JSON.stringify(raw.slice(0, 40)));
  return { epoch: m[1], seq: Number(m[2]) };
}
