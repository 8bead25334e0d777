/**
 * One load-generator client process: holds many SSE connections (raw TCP,
 * an HTTP/1.1 GET with `Accept: text/event-stream`, as EventSource sends),
 * tallies every message per connection, and records latency. Driven by the
 * coordinator over IPC (see protocol.ts); exits when the coordinator goes
 * away or after its deadline, whichever comes first.
 */
import { connect, type Socket } from "node:net";
import { Histogram } from "./histogram.js";
import { MarkerScanner, nowUs } from "./marker.js";
import type { Command, ConnectCommand, Reply } from "./protocol.js";

const DEADLINE_MS = Number(process.argv[2] ?? 900_000);
setTimeout(() => process.exit(3), DEADLINE_MS).unref();
process.on("disconnect", () => process.exit(0));

interface Conn {
  socket: Socket;
  channel: number;
  /** Deliveries per message number of the channel (saturates at 255). */
  tally: Uint8Array;
  open: boolean;
  dropped: boolean;
}

const conns: Conn[] = [];
const latency = new Histogram();
let from: number[] = [];
let strays = 0;
let firstUs = 0;
let lastUs = 0;

const send = (r: Reply) => process.send!(r);

function open(c: ConnectCommand, i: number): Promise<Conn | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: c.host, port: c.port, localAddress: c.localAddress });
    const conn: Conn = {
      socket,
      channel: c.channelOf[i]!,
      tally: new Uint8Array(c.maxPerChannel),
      open: false,
      dropped: false,
    };
    const scanner = new MarkerScanner();
    let head = "";
    const found = (n: number, t: number) => {
      if (n >= conn.tally.length) {
        strays++;
        return;
      }
      if (conn.tally[n]! < 255) conn.tally[n]!++;
      if (n >= (from[conn.channel] ?? Number.POSITIVE_INFINITY)) {
        const now = nowUs();
        latency.record(now - t);
        if (!firstUs) firstUs = now;
        lastUs = now;
      }
    };
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      if (conn.open) {
        scanner.feed(chunk, found);
        return;
      }
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!/^HTTP\/1\.1 200/.test(head)) {
        socket.destroy();
        resolve(head.split("\r\n")[0] ?? "bad response");
        return;
      }
      conn.open = true;
      resolve(conn);
      const body = Buffer.from(head.slice(end + 4), "latin1");
      if (body.length) scanner.feed(body, found);
    });
    socket.on("error", (err) => {
      if (!conn.open) resolve(err.message);
    });
    socket.on("close", () => {
      if (conn.open) conn.dropped = true;
      conn.open = false;
      resolve("closed before the response");
    });
    socket.write(
      `GET ${c.paths[i]} HTTP/1.1\r\nHost: ${c.host}:${c.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`,
    );
  });
}

async function connectAll(c: ConnectCommand): Promise<void> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const errors = new Set<string>();
  const lane = async () => {
    while (next < c.paths.length) {
      const i = next++;
      let r: Conn | string = "";
      // A refused connect under a burst (full accept queue) is retried a few times.
      for (let attempt = 0; attempt < 3; attempt++) {
        r = await open(c, i);
        if (typeof r !== "string") break;
      }
      if (typeof r === "string") {
        failed++;
        if (errors.size < 5) errors.add(r);
      } else {
        ok++;
        conns.push(r);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, c.concurrency) }, lane));
  send({ type: "connected", ok, failed, errors: [...errors] });
}

function report(to: number[]): void {
  let deliveries = 0;
  let lost = 0;
  let duplicates = 0;
  let open = 0;
  let dropped = 0;
  for (const c of conns) {
    if (c.open) open++;
    if (c.dropped) dropped++;
    const lo = from[c.channel] ?? 0;
    const hi = Math.min(to[c.channel] ?? 0, c.tally.length);
    for (let n = lo; n < hi; n++) {
      const k = c.tally[n]!;
      deliveries += k;
      if (k === 0) lost++;
      else duplicates += k - 1;
    }
  }
  send({
    type: "report",
    open,
    dropped,
    deliveries,
    lost,
    duplicates,
    strays,
    latency: latency.toJSON(),
    firstUs,
    lastUs,
  });
}

process.on("message", (m: Command) => {
  if (m.cmd === "connect") void connectAll(m);
  else if (m.cmd === "measure") {
    from = m.from;
    latency.reset();
    firstUs = 0;
    lastUs = 0;
  } else if (m.cmd === "report") report(m.to);
  else if (m.cmd === "close") {
    for (const c of conns) c.socket.destroy();
    process.exit(0);
  }
});
