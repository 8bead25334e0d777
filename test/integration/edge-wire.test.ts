/**
 * The SSE response on the wire: the edge writes its head and frames straight
 * to the socket, with no chunked transfer encoding, and the body ends when
 * the edge closes the connection. Read with a raw TCP socket, byte for byte,
 * on both brokers.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Broker } from "../../src/broker/types.js";
import { forEachBroker } from "../helpers/brokers.js";
import { parseFrames } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { type EdgeUnderTest, publishTo, startTestEdge, texts } from "./edge-fixture.js";

interface RawStream {
  socket: Socket;
  /** Everything received so far, head included. */
  text(): string;
  ended: Promise<void>;
}

function rawGet(base: string, path: string, headers: Record<string, string> = {}): RawStream {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const lines = Object.entries({ accept: "text/event-stream", ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  socket.write(`GET ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\n${lines.join("")}\r\n`);
  return { socket, text: () => Buffer.concat(chunks).toString("utf8"), ended };
}

function split(raw: string): { head: string; body: string } {
  const end = raw.indexOf("\r\n\r\n");
  return end < 0 ? { head: raw, body: "" } : { head: raw.slice(0, end), body: raw.slice(end + 4) };
}

forEachBroker((_kind, sb) => {
  describe("the SSE response on the wire", () => {
    let e: EdgeUnderTest;
    let broker: Broker;
    before(async () => {
      broker = sb.broker;
      e = await startTestEdge(broker, (c) => {
        c.edge.corsOrigins = ["https://good.example"];
      });
    });
    after(async () => {
      await e?.close();
    });

    it("sends a head without chunked encoding and frames as raw bytes in the body", async () => {
      const s = rawGet(e.base, "/v1/sse?channel=wire:a", { origin: "https://good.example" });
      try {
        await waitFor(() => e.hub.subscribers("wire:a") === 1, { timeoutMs: 10_000 });
        await publishTo(broker, e.cfg, "wire:a", "one");
        await publishTo(broker, e.cfg, "wire:a", "two");
        await waitFor(() => split(s.text()).body.includes('"two"'), { timeoutMs: 10_000 });
        const { head, body } = split(s.text());
        const lines = head.split("\r\n");
        assert.equal(lines[0], "HTTP/1.1 200 OK");
        const fields = new Map(
          lines.slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 2)]),
        );
        assert.equal(fields.get("content-type"), "text/event-stream; charset=utf-8");
        assert.equal(fields.get("connection"), "close");
        assert.equal(fields.get("access-control-allow-origin"), "https://good.example");
        assert.equal(fields.has("transfer-encoding"), false);
        assert.equal(fields.has("content-length"), false);
        // The body is the event stream itself: no chunk-size lines between frames.
        assert.match(body, /^retry: \d+\n\n/);
        const frames = parseFrames(body).frames;
        assert.deepEqual(texts(frames.filter((f) => f.id !== undefined)), ["one", "two"]);
        assert.equal(body.replace(/^retry: \d+\n\n/, ""), body.slice(body.indexOf("id: ")));
      } finally {
        s.socket.destroy();
      }
    });

    it("cuts off a client that pipelines a request behind its stream, and frees the connection", async () => {
      const s = rawGet(e.base, "/v1/sse?channel=wire:pipe");
      await waitFor(() => e.hub.subscribers("wire:pipe") === 1, { timeoutMs: 10_000 });
      s.socket.write(
        "GET /v1/sse?channel=wire:pipe HTTP/1.1\r\nhost: x\r\naccept: text/event-stream\r\n\r\n",
      );
      await waitFor(() => s.socket.destroyed || s.socket.readableEnded, {
        timeoutMs: 10_000,
        what: "the socket is cut off",
      });
      await waitFor(() => e.hub.subscribers("wire:pipe") === 0, { timeoutMs: 10_000 });
      assert.equal(s.text().match(/HTTP\/1\.1 /g)?.length, 1, "one response head on the socket");
    });

    it("frees the connection of a client that half-closes its side", async () => {
      const s = rawGet(e.base, "/v1/sse?channel=wire:fin");
      await waitFor(() => e.hub.subscribers("wire:fin") === 1, { timeoutMs: 10_000 });
      s.socket.end();
      await waitFor(() => e.hub.subscribers("wire:fin") === 0, { timeoutMs: 10_000 });
      await publishTo(broker, e.cfg, "wire:fin", "after");
      await waitFor(() => s.socket.destroyed || s.socket.readableEnded, { timeoutMs: 10_000 });
    });

    it("answers HEAD with the head of a stream and opens no stream", async () => {
      const r = await fetch(`${e.base}/v1/sse?channel=wire:head`, {
        method: "HEAD",
        headers: { accept: "text/event-stream" },
      });
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/event-stream/);
      assert.equal(e.hub.subscribers("wire:head"), 0);
      assert.equal(e.hub.connections, 0);
    });

    it("still refuses a bad request with a coded 4xx before any stream starts", async () => {
      const s = rawGet(e.base, "/v1/sse?channel=a.b", { connection: "close" });
      await s.ended;
      const { head, body } = split(s.text());
      assert.match(head, /^HTTP\/1\.1 400 /);
      assert.equal((JSON.parse(body) as { code: string }).code, "REALER_ERR_CHANNEL_INVALID");
    });
  });

  describe("a stream the edge ends", () => {
    it("ends the body by closing the connection, after the drain frame", async () => {
      const broker = sb.broker;
      const e = await startTestEdge(broker);
      const s = rawGet(e.base, "/v1/sse?channel=wire:end");
      try {
        await waitFor(() => e.hub.subscribers("wire:end") === 1, { timeoutMs: 10_000 });
        await publishTo(broker, e.cfg, "wire:end", "last");
        await waitFor(() => s.text().includes('"last"'), { timeoutMs: 10_000 });
        await e.close();
        await s.ended;
        // The first block is the `retry:` line, which has no event.
        const frames = parseFrames(split(s.text()).body).frames.slice(1);
        assert.deepEqual(
          frames.map((f) => f.event),
          ["note", "drain"],
        );
        assert.equal(frames[1]!.id, frames[0]!.id);
      } finally {
        s.socket.destroy();
        await e.close();
      }
    });
  });
});
