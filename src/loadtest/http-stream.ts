/**
 * The HTTP/1.1 side of a streamed response read from a raw socket: the
 * status line and headers, then the body, decoded from chunked transfer
 * coding when the server uses it (nginx, Go servers) or passed through as it
 * is when it does not (realer's edge ends the body by closing the socket).
 */

const HEAD_END = Buffer.from("\r\n\r\n");
/** A response head longer than this is not one a streaming server sends. */
const MAX_HEAD = 64 * 1024;

export interface ResponseHead {
  status: number;
  /** The status line, for messages. */
  statusLine: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

/** Parses a response head (without the blank line). */
export function parseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const statusLine = lines[0] ?? "";
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    if (c <= 0) continue;
    const name = l.slice(0, c).trim().toLowerCase();
    const value = l.slice(c + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: m ? Number(m[1]) : 0, statusLine, headers };
}

/** Decodes chunked transfer coding; `onBody` gets the payload, in pieces. */
export class ChunkedDecoder {
  #state: "size" | "ext" | "size-lf" | "data" | "data-cr" | "data-lf" | "done" = "size";
  #size = 0;
  #digits = 0;
  readonly #onBody: (b: Buffer) => void;

  constructor(onBody: (b: Buffer) => void) {
    this.#onBody = onBody;
  }

  /** True once the last (empty) chunk was read. */
  get done(): boolean {
    return this.#state === "done";
  }

  /** Throws on bytes that are not chunked coding. */
  feed(buf: Buffer): void {
    let i = 0;
    const n = buf.length;
    while (i < n && this.#state !== "done") {
      const c = buf[i]!;
      switch (this.#state) {
        case "size": {
          const d = hexDigit(c);
          if (d >= 0) {
            this.#size = this.#size * 16 + d;
            if (++this.#digits > 12) throw new Error("chunk size too large");
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.#state = "ext";
          } else if (c === 0x0d && this.#digits > 0) {
            this.#state = "size-lf";
          } else {
            throw new Error("bad chunk size line");
          }
          i++;
          break;
        }
        case "ext":
          if (c === 0x0d) this.#state = "size-lf";
          i++;
          break;
        case "size-lf":
          if (c !== 0x0a) throw new Error("bad chunk size line");
          i++;
          // The last chunk: trailers, if any, are not read (the stream is over).
          this.#state = this.#size === 0 ? "done" : "data";
          break;
        case "data": {
          const take = Math.min(this.#size, n - i);
          this.#onBody(buf.subarray(i, i + take));
          this.#size -= take;
          i += take;
          if (this.#size === 0) this.#state = "data-cr";
          break;
        }
        case "data-cr":
          if (c !== 0x0d) throw new Error("chunk not followed by CRLF");
          this.#state = "data-lf";
          i++;
          break;
        case "data-lf":
          if (c !== 0x0a) throw new Error("chunk not followed by CRLF");
          this.#state = "size";
          this.#digits = 0;
          i++;
          break;
      }
    }
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Reads a response off a socket's data events: collects the head, then
 * hands every body byte to `onBody` (de-chunked when needed).
 * `feed` returns the head once it is complete (and only then), so the
 * caller decides whether the response is a stream it wants, and then calls
 * `accept` for the body bytes that came with it.
 */
export class ResponseReader {
  head: ResponseHead | undefined;
  #headBuf: Buffer | undefined;
  #chunked: ChunkedDecoder | undefined;
  #leftover: Buffer | undefined;
  readonly #onBody: (b: Buffer) => void;

  constructor(onBody: (b: Buffer) => void) {
    this.#onBody = onBody;
  }

  /** True when a chunked body ended (a server that is done with the stream). */
  get ended(): boolean {
    return this.#chunked?.done === true;
  }

  /** Returns the head when this piece completed it; throws on a head too long or bad chunking. */
  feed(chunk: Buffer): ResponseHead | undefined {
    if (this.head) {
      this.#body(chunk);
      return undefined;
    }
    const buf = this.#headBuf ? Buffer.concat([this.#headBuf, chunk]) : chunk;
    const end = buf.indexOf(HEAD_END);
    if (end < 0) {
      if (buf.length > MAX_HEAD) throw new Error("response head too long");
      this.#headBuf = Buffer.from(buf);
      return undefined;
    }
    this.#headBuf = undefined;
    this.#leftover = buf.subarray(end + 4);
    this.head = parseHead(buf.toString("latin1", 0, end));
    if (/\bchunked\b/i.test(this.head.headers["transfer-encoding"] ?? ""))
      this.#chunked = new ChunkedDecoder(this.#onBody);
    return this.head;
  }

  /** Reads the body bytes that came with the head, once the caller decided to keep the stream. */
  accept(): void {
    const left = this.#leftover;
    this.#leftover = undefined;
    if (left?.length) this.#body(left);
  }

  #body(b: Buffer): void {
    if (this.#chunked) this.#chunked.feed(b);
    else this.#onBody(b);
  }
}
