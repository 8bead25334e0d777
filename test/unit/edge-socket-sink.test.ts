/**
 * The socket sink on real TCP sockets: direct writes on the descriptor, the
 * hand-over to Node's write queue when the kernel's buffer fills, and back.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { TLSSocket } from "node:tls";
import { SocketSink } from "../../src/edge/sse-response.js";
import { waitFor } from "../helpers/wait.js";

/** Every socket a test opened: destroyed at the end even when an assertion failed half way. */
const opened: Socket[] = [];

/** A connected pair: `server` is the edge's side, `client` the reader. */
async function pair(srv: Server): Promise<{ server: Socket; client: Socket }> {
  const accepted = once(srv, "connection") as Promise<[Socket]>;
  const client = connect((srv.address() as { port: number }).port, "127.0.0.1");
  const [[server]] = await Promise.all([accepted, once(client, "connect")]);
  opened.push(server, client);
  return { server, client };
}

/** Numbered 1 KB chunks, so order and completeness can be checked byte for byte. */
const chunk = (i: number) => Buffer.from(`${String(i).padStart(8, "0")}${"x".repeat(1016)}`);

describe("SocketSink", () => {
  let srv: Server;
  before(async () => {
    srv = createServer();
    srv.listen(0, "127.0.0.1");
    await once(srv, "listening");
  });
  after(() => {
    for (const s of opened) s.destroy();
    srv.close();
  });

  it("writes in order through a full send buffer: direct, then queued with backpressure, then direct again", async () => {
    const { server, client } = await pair(srv);
    client.pause(); // the client reads nothing until told
    const sink = new SocketSink(server);
    let n = 0;
    let queuedAt = -1;
    // Fill the kernel's buffers until the sink hands over to Node's queue and says "wait".
    while (n < 100_000) {
      const ok = sink.write(chunk(n++));
      if (!ok) {
        queuedAt = n;
        break;
      }
    }
    assert.ok(queuedAt > 0, "the sink never reported a full socket");
    assert.ok(sink.writableLength > 0, "bytes the kernel did not take wait in Node's queue");
    // While Node's queue holds bytes, writes join it (never around it).
    for (let i = 0; i < 10; i++) assert.equal(sink.write(chunk(n++)), false);
    let drained = false;
    sink.once("drain", () => {
      drained = true;
    });
    const received: Buffer[] = [];
    let bytes = 0;
    client.on("data", (d: Buffer) => {
      received.push(d);
      bytes += d.length;
    });
    client.resume();
    await waitFor(() => drained, { what: "drain" });
    assert.equal(sink.writableLength, 0);
    // Drained: direct writes again.
    for (let i = 0; i < 10; i++) assert.equal(sink.write(chunk(n++)), true);
    const expected = n * 1024;
    await waitFor(() => bytes >= expected, { what: `${expected} bytes` });
    const all = Buffer.concat(received);
    assert.equal(all.length, expected);
    for (let i = 0; i < n; i++) {
      assert.equal(all.subarray(i * 1024, i * 1024 + 8).toString(), String(i).padStart(8, "0"), `chunk ${i}`);
    }
  });

  it("never writes around bytes waiting in Node's queue (the response head), even when the kernel would take them", async () => {
    const { server, client } = await pair(srv);
    const received: Buffer[] = [];
    client.on("data", (d: Buffer) => received.push(d));
    // Corked: bytes written before the sink existed (as the head is) wait in Node's queue, the kernel's buffer empty.
    server.cork();
    server.write(chunk(0));
    server.write(chunk(1));
    const sink = new SocketSink(server);
    assert.ok(sink.writableLength > 0);
    sink.write(chunk(2));
    server.uncork();
    const receivedBytes = () => received.reduce((n, b) => n + b.length, 0);
    await waitFor(() => receivedBytes() >= 3 * 1024, { what: "3 chunks" });
    // Node's queue is empty again: the next write goes straight to the descriptor, still in order.
    assert.equal(sink.writableLength, 0);
    assert.equal(sink.write(chunk(3)), true);
    await waitFor(() => receivedBytes() >= 4 * 1024, { what: "4 chunks" });
    const all = Buffer.concat(received);
    const order = [0, 1, 2, 3].map((i) => all.subarray(i * 1024, i * 1024 + 8).toString());
    assert.deepEqual(order, ["00000000", "00000001", "00000002", "00000003"]);
  });

  it("writes to an encrypted socket only through its TLS layer, never to the descriptor", async () => {
    const { server } = await pair(srv);
    const tls = new TLSSocket(server, { isServer: true });
    tls.on("error", () => {});
    const through: Buffer[] = [];
    const write = tls.write.bind(tls);
    tls.write = ((chunk: Buffer) => {
      through.push(chunk);
      return write(chunk);
    }) as typeof tls.write;
    const sink = new SocketSink(tls);
    sink.write(chunk(0));
    sink.write(chunk(1));
    assert.equal(through.length, 2);
    tls.destroy();
  });

  it("does not throw on a socket the peer reset or the edge destroyed, and reports close", async () => {
    const { server, client } = await pair(srv);
    const sink = new SocketSink(server);
    let closed = false;
    sink.once("close", () => {
      closed = true;
    });
    client.resetAndDestroy();
    // Writes after the reset fail inside Node's path (an 'error', then 'close'), never as a throw.
    server.on("error", () => {});
    for (let i = 0; i < 50; i++) sink.write(chunk(i));
    await waitFor(() => closed, { what: "close" });
    sink.destroy();
    assert.doesNotThrow(() => sink.write(chunk(0)));
  });
});
