/** A minimal EventSource-equivalent for tests: real HTTP, frames parsed as a browser would. */
import { request } from "node:http";
import { waitFor } from "./wait.js";

export interface Frame {
  id?: string;
  event: string;
  data: string;
  retry?: number;
}

export interface SseClient {
  status: number;
  frames: Frame[];
  /** Frames with an id (channel messages), in arrival order. */
  messages(): Frame[];
  lastId(): string | undefined;
  waitForMessages(n: number, timeoutMs?: number): Promise<Frame[]>;
  waitForEvent(event: string, timeoutMs?: number): Promise<Frame>;
  ended: Promise<void>;
  close(): void;
}

export function parseFrames(buf: string): { frames: Frame[]; rest: string } {
  const frames: Frame[] = [];
  const blocks = buf.split(/\n\n/);
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    const f: Frame = { event: "message", data: "" };
    const data: string[] = [];
    let any = false;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      any = true;
      if (field === "id") f.id = value;
      else if (field === "event") f.event = value;
      else if (field === "data") data.push(value);
      else if (field === "retry") f.retry = Number(value);
    }
    if (!any) continue;
    f.data = data.join("\n");
    frames.push(f);
  }
  return { frames, rest };
}

/** `onFrame` sees each frame as it arrives. */
export function sseConnect(
  url: string,
  headers: Record<string, string> = {},
  onFrame?: (f: Frame) => void,
): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
      let buf = "";
      let body = "";
      const frames: Frame[] = [];
      let endResolve: () => void;
      const ended = new Promise<void>((r) => {
        endResolve = r;
      });
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (res.statusCode !== 200) {
          body += chunk;
          return;
        }
        const parsed = parseFrames(buf + chunk);
        buf = parsed.rest;
        frames.push(...parsed.frames);
        if (onFrame) for (const f of parsed.frames) onFrame(f);
      });
      res.on("end", () => endResolve());
      res.on("close", () => endResolve());
      const client: SseClient = {
        status: res.statusCode ?? 0,
        frames,
        messages: () => frames.filter((f) => f.id !== undefined),
        lastId: () => client.messages().at(-1)?.id,
        waitForMessages: (n, timeoutMs = 10_000) =>
          waitFor(() => (client.messages().length >= n ? client.messages() : undefined), {
            timeoutMs,
            what: `${n} SSE messages`,
          }),
        waitForEvent: (event, timeoutMs = 10_000) =>
          waitFor(() => frames.find((f) => f.event === event), { timeoutMs, what: `SSE event ${event}` }),
        ended,
        close: () => req.destroy(),
      };
      if (res.statusCode !== 200) {
        res.on("end", () => {
          (client as { body?: string }).body = body;
          resolve(client);
        });
        return;
      }
      resolve(client);
    });
    req.on("error", reject);
    req.end();
  });
}
