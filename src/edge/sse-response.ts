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
import { writeSync } from "node:fs";
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

/**
 * The connection's sink: the socket, with frames written by one `write(2)`
 * straight on its descriptor while Node's own write queue is empty. A
 * delivery is then one system call and no stream bookkeeping: Node's path
 * allocates about 200 bytes per write (a write request, callback records),
 * which at 50,000 writes/s is most of the edge's garbage. Whatever the
 * kernel does not take at once (a full send buffer: EAGAIN or a partial
 * write), and every write while Node's queue holds bytes, goes through
 * `socket.write`, which keeps order, backpressure (`false`, then `drain`)
 * and error handling as they were.
 */
export class SocketSink {
  readonly #socket: Socket;
  /** The descriptor, read at the first write to the open socket: -2 not read yet, -1 none to use. */
  #fd = -2;
  /** Whether Node's queue may hold bytes: set by every write that went through it, cleared once it is seen empty. */
  #queued = true;

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Bytes waiting in Node's queue: none unless a write went through it (asked on every delivery). */
  get writableLength(): number {
    return this.#queued ? this.#socket.writableLength : 0;
  }

  write(chunk: Buffer): boolean {
    const s = this.#socket;
    if (this.#queued && s.writableLength === 0) this.#queued = false;
    // Only an open socket's descriptor is used: a closed one's number may already belong to another file.
    if (!this.#queued && !s.destroyed) {
      if (this.#fd === -2) this.#fd = fdOf(s);
      if (this.#fd >= 0) {
        let n = 0;
        try {
          n = writeSync(this.#fd, chunk);
        } catch {
          // EAGAIN (send buffer full), EPIPE, ECONNRESET: Node's path waits, or reports, as it would have.
        }
        if (n === chunk.length) return true;
        if (n > 0) chunk = chunk.subarray(n);
      }
    }
    this.#queued = true;
    return s.write(chunk);
  }

  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  once(event: "drain" | "close", fn: () => void): this {
    this.#socket.once(event, fn);
    return this;
  }
}

/**
 * The socket's file descriptor where the platform exposes it (libuv TCP handles on Unix), else -1.
 * Never for an encrypted socket: its descriptor carries TLS records, and plain bytes written there
 * would bypass the encryption.
 */
function fdOf(socket: Socket): number {
  if ((socket as Socket & { encrypted?: boolean }).encrypted) return -1;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : -1;
}
