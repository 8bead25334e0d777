/**
 * An SSE client that reconnects as a browser's EventSource does: after a stream ends
 * (or a refusal, or a refused connection) it waits the last `retry:` delay and asks
 * again with `Last-Event-ID` set to the last id it saw, the drain frame's included.
 * Its messages are every connection's, in arrival order.
 */
import { type Frame, type SseClient, sseConnect } from "./sse-client.js";
import { waitFor } from "./wait.js";

export interface ResumingSse {
  /** Channel messages (frames with an id, control frames left out) across every connection. */
  messages(): Frame[];
  /** Streams opened (200 answers). */
  readonly streams: number;
  /** Streams that ended with a `drain` frame. */
  readonly drains: number;
  /** Answers other than 200, and connections that failed. */
  readonly refusals: number;
  /** The id the next connection sends as Last-Event-ID. */
  readonly lastEventId: string | undefined;
  /** Resolves once `n` streams have opened. */
  waitForStreams(n: number, timeoutMs?: number): Promise<void>;
  waitForMessages(n: number, timeoutMs?: number): Promise<Frame[]>;
  close(): void;
}

const CONTROL = new Set(["drain", "reset", "error", "auth-expiring"]);

export function resumingSse(url: string, o: { retryMs?: number } = {}): ResumingSse {
  const messages: Frame[] = [];
  let lastEventId: string | undefined;
  let retryMs = o.retryMs ?? 500;
  let current: SseClient | undefined;
  let closed = false;
  const counts = { streams: 0, drains: 0, refusals: 0 };
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const take = (f: Frame) => {
    if (f.id !== undefined) lastEventId = f.id;
    if (f.retry !== undefined) retryMs = f.retry;
    if (f.event === "drain") counts.drains++;
    if (f.id !== undefined && !CONTROL.has(f.event)) messages.push(f);
  };
  const run = async () => {
    while (!closed) {
      let client: SseClient;
      try {
        client = await sseConnect(url, lastEventId ? { "last-event-id": lastEventId } : {}, take);
      } catch {
        counts.refusals++;
        await pause(retryMs);
        continue;
      }
      if (client.status !== 200) {
        counts.refusals++;
        await pause(retryMs);
        continue;
      }
      counts.streams++;
      current = client;
      if (closed) client.close();
      await client.ended;
      if (!closed) await pause(retryMs);
    }
  };
  void run();

  return {
    messages: () => messages,
    get streams() {
      return counts.streams;
    },
    get drains() {
      return counts.drains;
    },
    get refusals() {
      return counts.refusals;
    },
    get lastEventId() {
      return lastEventId;
    },
    async waitForStreams(n, timeoutMs = 20_000) {
      await waitFor(() => counts.streams >= n, { timeoutMs, what: `${n} SSE streams` });
    },
    waitForMessages: (n, timeoutMs = 20_000) =>
      waitFor(() => (messages.length >= n ? messages : undefined), { timeoutMs, what: `${n} SSE messages` }),
    close() {
      closed = true;
      current?.close();
      wake?.();
    },
  };
}
