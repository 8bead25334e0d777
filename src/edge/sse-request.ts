/** Validation of an SSE subscribe request; pure, so every refusal is unit-testable. */
import { ChannelInvalid, LastEventIdInvalid, NoChannels, NotEventStream, TooManyChannels } from "../errors.js";
import { isValidChannel } from "../events/channel.js";

export interface SseRequest {
  channels: string[];
  /** The resume cursor, or undefined to start live. */
  cursor: number | undefined;
}

const ID_RE = /^\d{1,15}$/;

export function parseSseRequest(
  query: Record<string, unknown>,
  headers: Record<string, string | string[] | undefined>,
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
  const header = headers["last-event-id"];
  const id = (Array.isArray(header) ? header[0] : header) ?? (query.last_event_id as string | undefined);
  let cursor: number | undefined;
  if (id !== undefined && id !== "") {
    if (typeof id !== "string" || !ID_RE.test(id)) throw new LastEventIdInvalid(JSON.stringify(String(id).slice(0, 40)));
    cursor = Number(id);
  }
  return { channels, cursor };
}
