/** Types of the realer browser client (client.js). */

export interface MessageMeta {
  /** The SSE id: opaque, pass it back as `lastEventId` to resume. */
  id: string;
  /** The SSE event name, e.g. "comment.created". */
  type: string;
  channel: string;
  /** The id of the event the message was rendered from. */
  eventId: string;
}

export type Handler = (data: unknown, meta: MessageMeta) => void;

export type State = "connecting" | "live" | "reconnecting" | "closed" | "off";

export interface Report {
  dark: boolean;
  channels: string[];
  state: State;
  lastEventId: string | undefined;
  uptimeMs: number;
  received: number;
  bytes: number;
  byType: Record<string, number>;
  reconnects: number;
  errors: number;
  resets: number;
  /** From subscribe() to the first message, ms. */
  firstEventMs: number | undefined;
}

export interface SubscribeOptions {
  /** Channels on the one connection, e.g. ["thread:42"]. */
  channels: string[];
  /** Handlers by SSE event name. More can be added with `on()`. */
  on?: Record<string, Handler>;
  /** SSE endpoint. Default "/v1/sse", resolved against `base` (default: the page). */
  url?: string;
  base?: string;
  /** Resume after this id on the first connect; "0" replays the channels' kept history. Default: live only. */
  lastEventId?: string;
  /** Subscribe token for private channels, or a function that fetches a fresh one (called on each connect). */
  token?: string | (() => string | Promise<string>);
  /** Reconnect backoff: delay drawn from [0, min(maxMs, baseMs * 2^attempt)]. Defaults 500 and 30000 ms. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Dark launch: subscribe only this share of page views (0-1), render nothing, report what arrived. */
  dark?: number;
  /** Dark launch: receives the report every `reportEveryMs` (default 30000) and when the page is hidden or closed. */
  onReport?: (r: Report) => void;
  reportEveryMs?: number;
  /** Dark launch: the report is also sent here with navigator.sendBeacon. */
  reportUrl?: string;
  onStatus?: (s: State) => void;
  /** History before the cursor is gone: `{channels, from, reason}`; reload state if you keep any. */
  onReset?: (info: { channels?: string[]; from?: string; reason?: string }) => void;
  /** The edge closed the stream with `event: error` (`{code, reason, message, cursor}`); the client reconnects. */
  onError?: (info: { code?: string; reason?: string; message?: string; cursor?: string }) => void;
  /** The token expires soon (`{expires_at, channels, message}`). */
  onAuthExpiring?: (info: { expires_at?: string; channels?: string[]; message?: string }) => void;
  /** For tests: the EventSource constructor and the random source. */
  EventSource?: unknown;
  random?: () => number;
}

export interface Subscription {
  /** False for a dark-launch page view that was not sampled: nothing is subscribed. */
  readonly active: boolean;
  readonly dark: boolean;
  readonly state: State;
  readonly lastEventId: string | undefined;
  /** Adds a handler; returns a function that removes it. */
  on(type: string, handler: Handler): () => void;
  report(): Report;
  close(): void;
}

export function subscribe(options: SubscribeOptions): Subscription;
export function backoffDelay(
  attempt: number,
  backoff?: { baseMs?: number; maxMs?: number },
  random?: () => number,
): number;
export function streamUrl(
  url: string,
  channels: string[],
  lastEventId?: string,
  token?: string,
  base?: string,
): string;
/** Subscribers of a channel across the edges, or undefined when the edge does not say. */
export function subscribers(
  channel: string,
  opts?: { base?: string; fetch?: typeof fetch },
): Promise<number | undefined>;
