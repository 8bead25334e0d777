// realer browser client: ESM, no dependencies. Served by every edge at /client.js.
//
//   import { subscribe } from "/client.js";
//   const sub = subscribe({ channels: ["thread:42", "user:ann"], on: { "comment.created": (data, m) => render(data) } });
//
// Contracts:
// - One EventSource carries every channel; frames arrive in one order, so one
//   Last-Event-ID resumes them all. Ids are opaque strings: kept, never parsed.
// - A dropped connection is resumed by the browser itself (Last-Event-ID). When
//   the EventSource gives up (an HTTP error) or the edge closes after `event:
//   error`, the client reconnects itself, resuming from the last id it saw,
//   after an exponential backoff with full jitter: a delay drawn uniformly from
//   [0, min(maxMs, baseMs * 2^attempt)], so a thousand pages do not return together.
// - `reset` (history before the cursor is gone), `error` and `auth-expiring` go
//   to the optional callbacks. With a `token` function, `auth-expiring` fetches
//   a fresh token and reconnects at once, resuming without a gap.
// - `dark: 0.1` subscribes one page view in ten and renders nothing: handlers
//   are not called; what arrived is counted and reported (onReport, reportUrl).

const CONTROL = ["reset", "auth-expiring", "drain"];

/** Full-jitter backoff: the delay before reconnect attempt `attempt` (0-based), in ms. */
export function backoffDelay(attempt, { baseMs = 500, maxMs = 30000 } = {}, random = Math.random) {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)));
}

/** The SSE URL for `channels`, resuming after `lastEventId` when given. */
export function streamUrl(url, channels, lastEventId, token, base) {
  const u = new URL(url, base ?? globalThis.location?.href);
  for (const c of channels) u.searchParams.append("channel", c);
  if (lastEventId != null && lastEventId !== "") u.searchParams.set("last_event_id", String(lastEventId));
  if (token) u.searchParams.set("token", token);
  return u.toString();
}

/** Subscribers of a channel across the edges ("N here"), or undefined when the edge does not say. */
export async function subscribers(channel, { base, fetch: f = globalThis.fetch } = {}) {
  try {
    const res = await f(
      new URL(`/v1/channels/${encodeURIComponent(channel)}`, base ?? globalThis.location?.href),
    );
    if (!res.ok) return undefined;
    const body = await res.json();
    return Number.isInteger(body?.subscribers) ? body.subscribers : undefined;
  } catch {
    return undefined;
  }
}

export function subscribe(options) {
  const o = {
    url: "/v1/sse",
    on: {},
    backoff: {},
    reportEveryMs: 30000,
    random: Math.random,
    EventSource: globalThis.EventSource,
    ...options,
  };
  if (!Array.isArray(o.channels) || o.channels.length === 0)
    throw new TypeError("subscribe: channels must be a non-empty array");
  const handlers = new Map();
  const on = (type, fn) => {
    if (!handlers.has(type)) handlers.set(type, new Set());
    handlers.get(type).add(fn);
    listen(es, type);
    return () => handlers.get(type)?.delete(fn);
  };

  const dark = typeof o.dark === "number";
  const active = !dark || o.random() < o.dark;
  if (active && typeof o.EventSource !== "function")
    throw new TypeError("subscribe: this browser has no EventSource");
  const started = Date.now();
  const stats = {
    received: 0,
    bytes: 0,
    byType: {},
    reconnects: 0,
    errors: 0,
    resets: 0,
    firstEventMs: undefined,
  };
  let lastEventId = o.lastEventId;
  let es;
  let state = active ? "connecting" : "off";
  let attempt = 0;
  let timer;
  let reportTimer;
  let closed = false;
  for (const [type, fn] of Object.entries(o.on)) on(type, fn);

  const setState = (s) => {
    if (s === state) return;
    state = s;
    o.onStatus?.(s);
  };

  const report = () => ({
    dark,
    channels: [...o.channels],
    state,
    lastEventId,
    uptimeMs: Date.now() - started,
    ...stats,
    byType: { ...stats.byType },
  });

  const sendReport = () => {
    const r = report();
    o.onReport?.(r);
    if (o.reportUrl) globalThis.navigator?.sendBeacon?.(o.reportUrl, JSON.stringify(r));
  };

  function listen(source, type) {
    if (!source || source.__types.has(type)) return;
    source.__types.add(type);
    source.addEventListener(type, (e) => onMessage(source, type, e));
  }

  function onMessage(source, type, e) {
    if (source !== es) return;
    if (e.lastEventId) lastEventId = e.lastEventId;
    let body;
    try {
      body = JSON.parse(e.data);
    } catch {
      return;
    }
    stats.received++;
    stats.bytes += e.data.length;
    stats.byType[type] = (stats.byType[type] ?? 0) + 1;
    stats.firstEventMs ??= Date.now() - started;
    if (dark) return;
    const meta = { id: e.lastEventId, type, channel: body.channel, eventId: body.event_id };
    for (const fn of handlers.get(type) ?? []) fn(body.data, meta);
  }

  async function connect() {
    if (closed) return;
    const token = typeof o.token === "function" ? await o.token() : o.token;
    if (closed) return;
    const source = new o.EventSource(streamUrl(o.url, o.channels, lastEventId, token, o.base));
    source.__types = new Set();
    es = source;
    source.onopen = () => {
      if (source !== es) return;
      attempt = 0;
      setState("live");
    };
    source.addEventListener("error", (e) => {
      if (source !== es) return;
      if (typeof e.data === "string") {
        // The edge's `event: error`: it closes the stream after this frame.
        stats.errors++;
        const info = parse(e.data);
        lastEventId ??= info.cursor;
        o.onError?.(info);
        retry();
      } else if (source.readyState === 2) {
        retry();
      } else {
        setState("reconnecting");
      }
    });
    source.addEventListener("reset", (e) => {
      if (source !== es) return;
      stats.resets++;
      o.onReset?.(parse(e.data));
    });
    source.addEventListener("drain", (e) => {
      if (source === es && e.lastEventId) lastEventId = e.lastEventId;
    });
    source.addEventListener("auth-expiring", (e) => {
      if (source !== es) return;
      o.onAuthExpiring?.(parse(e.data));
      // A fresh token now; the new stream resumes from our id, so nothing is missed.
      if (typeof o.token === "function") reconnectNow();
    });
    for (const type of handlers.keys()) if (!CONTROL.includes(type)) listen(source, type);
  }

  function stop() {
    clearTimeout(timer);
    timer = undefined;
    es?.close();
    es = undefined;
  }

  function retry() {
    stop();
    if (closed) return;
    setState("reconnecting");
    stats.reconnects++;
    const delay = backoffDelay(attempt++, o.backoff, o.random);
    timer = setTimeout(() => void connect().catch(retry), delay);
  }

  function reconnectNow() {
    stop();
    stats.reconnects++;
    void connect().catch(retry);
  }

  if (active) {
    void connect().catch(retry);
    if (dark && (o.onReport || o.reportUrl)) {
      reportTimer = setInterval(sendReport, o.reportEveryMs);
      globalThis.addEventListener?.("pagehide", sendReport);
    }
  } else {
    o.onStatus?.("off");
  }

  return {
    /** False for a dark-launch page view that was not sampled: nothing is subscribed. */
    active,
    dark,
    get state() {
      return state;
    },
    get lastEventId() {
      return lastEventId;
    },
    on,
    report,
    close() {
      if (closed) return;
      closed = true;
      stop();
      clearInterval(reportTimer);
      if (dark && active) {
        globalThis.removeEventListener?.("pagehide", sendReport);
        sendReport();
      }
      setState("closed");
    },
  };
}

function parse(data) {
  try {
    return JSON.parse(data) ?? {};
  } catch {
    return { message: String(data) };
  }
}
