/** Validation of an SSE subscribe request; pure, so every refusal is unit-testable. */
import { ChannelInvalid, NoChannels, NotEventStream, TooManyChannels } from "../errors.js";
import { isValidChannel } from "../events/channel.js";
import { type EventId, parseId } from "./event-id.js";

export interface SseRequest {
  channels: string[];
  /** The resume cursor, or undefined to start live. */
  cursor: EventId | undefined;
  /** The Last-Event-ID as sent (when there is a cursor). */
  lastEventId: string | undefined;
  /** A subscribe token (query `token` or `Authorization: Bearer`), for private channels. */
  token: string | undefined;
}

type Headers = Record<string, string | string[] | undefined>;

const first = (v: unknown): string | undefined => {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === "string" ? x : undefined;
};

/** The token of a request: `Authorization: Bearer <jwt>` first, then `?token=`. */
export function tokenOf(query: Record<string, unknown>, headers: Headers): string | undefined {
  const auth = first(headers.authorization);
  const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  return m?.[1] ?? (first(query.token) || undefined);
}

export function parseSseRequest(
  query: Record<string, unknown>,
  headers: Headers,
  maxChannels: number,
): SseRequest {
  const accept = String(headers.accept ?? "");
  if (!accept.includes("text/event-stream")) throw new NotEventStream();
  const raw = query.channel;
  const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
  if (list.length === 0) throw new NoChannels();
  const channels = [...new Set(list)];
  if (channels.length > maxChannels) throw new TooManyChannels(channels.length, maxChannels);
  for (const c of channels) if (!isValidChannel(c)) throw new ChannelInvalid(JSON.stringify(c.slice(0, 140)));
  const id = first(headers["last-event-id"]) ?? first(query.last_event_id);
  const cursor = id !== undefined && id !== "" ? parseId(id) : undefined;
  return { channels, cursor, lastEventId: cursor ? id : undefined, token: tokenOf(query, headers) };
}
