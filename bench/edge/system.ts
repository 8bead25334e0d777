/** What a scenario needs from a system under test (nchan or realer), whatever runs inside it. */
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { Fleet, takeSourceAddresses } from "../../src/loadtest/fleet.js";

export interface SystemUnderTest {
  /** Shown in reports, e.g. "nchan (1 worker)". */
  name: string;
  host: string;
  port: number;
  /** The subscribe path of channel `i`. */
  subscribePath(channel: number): string;
  /** Publishes message `n` of channel `channel` stamped `tUs`. */
  publish(channel: number, n: number, tUs: number): Promise<boolean>;
  /** Server processes by role ("edge" holds the connections; e.g. "worker", "nats-server"). */
  pids(): { edge: number[]; [role: string]: number[] };
  stop(): Promise<void>;
}

export { freePort } from "../../test/helpers/ports.js";

/** Resolves once something accepts TCP connections on the port, polling until the deadline. */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        r(true);
      });
      s.once("error", () => r(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A keep-alive HTTP client for publishing: resolves true on a 2xx answer. */
export function poster(
  port: number,
  extraHeaders: Record<string, string> = {},
): (path: string, body: string, contentType: string) => Promise<boolean> {
  // Enough sockets that publishing is never queued behind a slow answer (the stamp is taken before sending).
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  return (path, body, contentType) =>
    new Promise((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path,
          method: "POST",
          agent,
          headers: {
            ...extraHeaders,
            "content-type": contentType,
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.once("end", () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
        },
      );
      req.once("error", () => resolve(false));
      req.end(body);
    });
}

/** Pads a marker to `size` bytes, so both systems write frames of about the same size. */
export const padded = (m: string, size: number): string =>
  m.length >= size ? m : m + "x".repeat(size - m.length);

/** Opens SSE connections to host:port, connection i on `paths[i]` expecting the markers of channel `channelOf[i]`. */
export function openSubscribers(o: {
  host: string;
  port: number;
  paths: string[];
  channelOf: number[];
  processes: number;
  concurrency?: number;
}): Promise<Fleet> {
  const processes = Math.max(1, Math.min(o.processes, o.paths.length));
  return Fleet.start({
    target: {
      address: o.host,
      port: o.port,
      tls: false,
      hostHeader: `${o.host}:${o.port}`,
      extraHeaders: "",
    },
    subscribers: o.paths.map((path, id) => ({ id, channel: o.channelOf[id]!, path })),
    processes,
    // One source address per process, as many connections as the process holds on each.
    localAddresses: takeSourceAddresses(processes),
    originUs: Date.now() * 1000,
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
  });
}
