/**
 * Server-Sent Events framing. Pure: every function returns bytes, written
 * as they are to any number of sockets (a frame is encoded once, however
 * many clients receive it).
 */

/** A comment line: heartbeats keep proxies from closing an idle stream. */
export const HEARTBEAT = Buffer.from(":\n\n");

function dataLines(data: string): string {
  // A raw newline would end the field early: split into one data line per line.
  return data.includes("\n") || data.includes("\r")
    ? data
        .split(/\r\n|\r|\n/)
        .map((l) => `data: ${l}\n`)
        .join("")
    : `data: ${data}\n`;
}

/** A frame that advances the client's Last-Event-ID. */
export function messageFrame(id: number | string, event: string, data: string): Buffer {
  return Buffer.from(`id: ${id}\nevent: ${event}\n${dataLines(data)}\n`);
}

/** A frame without an id: control messages must not move the client's cursor. */
export function controlFrame(event: string, data: unknown): Buffer {
  return Buffer.from(`event: ${event}\n${dataLines(JSON.stringify(data))}\n`);
}

/** Tells the client how long to wait before reconnecting, in ms. */
export function retryFrame(ms: number): Buffer {
  return Buffer.from(`retry: ${Math.max(0, Math.round(ms))}\n\n`);
}

/**
 * The last frame of a draining edge: sets the client's Last-Event-ID to its
 * cursor and its reconnect delay, so it resumes elsewhere without a gap.
 * It has data so every EventSource implementation dispatches it (and so
 * records the id); clients that do not listen for `drain` ignore it.
 */
export function drainFrame(id: string, retryMs: number): Buffer {
  const ms = Math.max(0, Math.round(retryMs));
  return Buffer.from(
    `id: ${id}\nevent: drain\nretry: ${ms}\ndata: ${JSON.stringify({ cursor: id, retry_ms: ms })}\n\n`,
  );
}
