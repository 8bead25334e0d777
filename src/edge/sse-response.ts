/**
 * The SSE response, written straight to the socket. After `reply.hijack()`
 * the edge writes the response head itself and then frames as Buffers on
 * the socket: no `ServerResponse` write path and no chunked transfer
 * encoding (which turned every write into a size line, the frames and a
 * CRLF, and cost most of the edge's CPU per delivery).
 *
 * Without Content-Length or Transfer-Encoding, an HTTP/1.1 response body
 * ends when the server closes the connection (RFC 9112, 6.3), which is
 * exactly an event stream's life; the head says `connection: close` because
 * the socket cannot carry another response after it.
 */
import type { Socket } from "node:net";

/** A header name: an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A header value Node itself would send: tabs and visible latin1, no CR, LF or other control characters. */
function isSafeValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/**
 * The bytes of a `200` head with `extra` (headers set by hooks, such as
 * CORS) and the SSE headers, which win over `extra`. Headers whose name or
 * value could not be sent safely are left out.
 */
export function sseHead(extra: Record<string, unknown>): Buffer {
  const headers: Record<string, unknown> = { ...extra, ...SSE_HEADERS, connection: "close" };
  let head = "HTTP/1.1 200 OK\r\n";
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || !TOKEN.test(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      const s = String(v);
      if (isSafeValue(s)) head += `${name}: ${s}\r\n`;
    }
  }
  return Buffer.from(`${head}\r\n`, "latin1");
}

/**
 * Starts the stream on `socket`: the head and `first` (the `retry:` frame)
 * in one write. The socket is then the connection's sink: it emits `drain`
 * and `close`, and `writableLength` counts its unsent bytes.
 */
export function openSseStream(socket: Socket, extra: Record<string, unknown>, first: Buffer): void {
  socket.setNoDelay(true);
  const head = sseHead(extra);
  socket.write(Buffer.concat([head, first], head.length + first.length));
}
