/**
 * The whole path in one process, on both brokers: producer -> events stream ->
 * worker -> channel stream -> edge -> an SSE client over real HTTP.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { CommentCreated } from "../../src/demo/comments.js";
import { createEvent, encodeEvent } from "../../src/events/envelope.js";
import { forEachBroker } from "../helpers/brokers.js";
import { sseConnect } from "../helpers/sse-client.js";
import { type Stack, startStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

/** The stream sequence of an SSE id (`<epoch>-<seq>`). */
const seqOf = (id: string | undefined) => Number(String(id).split("-").pop());

forEachBroker((_kind, fx) => {
  describe("one event from a producer to a browser", () => {
    let stack: Stack;
    let base: string;
    before(async () => {
      stack = await startStack(fx.broker);
      base = stack.edge!.url;
    });
    after(async () => {
      await stack?.close();
    });

    const comment = (thread: string, text: string) =>
      stack.producer.emit(CommentCreated.name, `thread:${thread}`, {
        comment: { id: randomUUID(), threadId: thread, author: "ann", text, createdAt: Date.now() },
      });
    const sse = (thread: string, headers: Record<string, string> = {}, query = "") =>
      sseConnect(`${base}/v1/sse?channel=thread:${thread}${query}`, headers);

    it("delivers a published comment to an SSE client with the sequence as id and the type as event", async () => {
      const thread = randomUUID().slice(0, 8);
      const client = await sse(thread);
      try {
        assert.equal(client.status, 200);
        const { event } = await comment(thread, "<b>first</b>");
        const [m] = await client.waitForMessages(1);
        assert.equal(m!.event, "comment.created");
        assert.match(m!.id!, /^[0-9a-z]+-\d+$/);
        const body = JSON.parse(m!.data);
        assert.equal(body.channel, `thread:${thread}`);
        assert.equal(body.data.html, "&lt;b&gt;first&lt;/b&gt;");
        assert.equal(body.data.author, "ann");
        assert.equal(body.trace_id, event.traceId, "the producer's trace id reaches the frame");
      } finally {
        client.close();
      }
    });

    it("carries several channels on one connection, each message once", async () => {
      const a = randomUUID().slice(0, 8);
      const b = randomUUID().slice(0, 8);
      const client = await sseConnect(`${base}/v1/sse?channel=thread:${a}&channel=thread:${b}`);
      try {
        await comment(a, "to a");
        await comment(b, "to b");
        await comment(randomUUID().slice(0, 8), "elsewhere");
        await comment(a, "to a again");
        const msgs = await client.waitForMessages(3);
        const texts = msgs.map((m) => JSON.parse(m.data).data.html);
        assert.deepEqual(texts, ["to a", "to b", "to a again"]);
        const ids = msgs.map((m) => seqOf(m.id));
        assert.deepEqual(
          [...ids].sort((x, y) => x - y),
          ids,
          "ids rise in stream order",
        );
      } finally {
        client.close();
      }
    });

    it("resumes with Last-Event-ID: exactly the N events missed while disconnected, in order, no duplicate", async () => {
      const thread = randomUUID().slice(0, 8);
      const first = await sse(thread);
      await comment(thread, "before-0");
      await comment(thread, "before-1");
      await first.waitForMessages(2);
      const last = first.lastId()!;
      first.close();
      await first.ended;
      const N = 25;
      for (let i = 0; i < N; i++) await comment(thread, `missed-${i}`);
      // Let the worker finish: the channel stream must hold all N before we compare.
      await waitFor(
        async () => (await fx.broker.streamState(stack.cfg.streams.channels.name)).lastSeq >= seqOf(last) + N,
      );
      const again = await sse(thread, { "last-event-id": last });
      try {
        const msgs = await again.waitForMessages(N);
        await comment(thread, "live-after");
        const all = await again.waitForMessages(N + 1);
        const texts = all.map((m) => JSON.parse(m.data).data.html);
        assert.deepEqual(texts, [...Array.from({ length: N }, (_, i) => `missed-${i}`), "live-after"]);
        assert.equal(new Set(all.map((m) => m.id)).size, all.length, "no duplicate ids");
        assert.equal(msgs.length >= N, true);
      } finally {
        again.close();
      }
    });

    it("resumes from the last_event_id query parameter on a first connect", async () => {
      const thread = randomUUID().slice(0, 8);
      const { ack } = await comment(thread, "one");
      await comment(thread, "two");
      await waitFor(
        async () => (await fx.broker.streamState(stack.cfg.streams.channels.name)).lastSeq >= ack.seq,
      );
      const client = await sse(thread, {}, "&last_event_id=0");
      try {
        const msgs = await client.waitForMessages(2);
        assert.deepEqual(
          msgs.map((m) => JSON.parse(m.data).data.html),
          ["one", "two"],
        );
      } finally {
        client.close();
      }
    });

    it("terminates and dead-letters a malformed event, logs it, and goes on with the next", async () => {
      const thread = randomUUID().slice(0, 8);
      const client = await sse(thread);
      const deadBefore = stack.worker!.counts.dead;
      try {
        await fx.broker.publish(
          `${stack.cfg.subjects.events}.p0.garbage`,
          new Uint8Array([0xff, 0xff, 0xff, 0x01]),
          {
            msgId: randomUUID(),
          },
        );
        const unknown = createEvent({ type: "nope.v1.Unknown", key: "k", payload: new Uint8Array() });
        await fx.broker.publish(`${stack.cfg.subjects.events}.p1.nope`, encodeEvent(unknown), {
          msgId: unknown.id,
        });
        await comment(thread, "still flowing");
        const [m] = await client.waitForMessages(1);
        assert.equal(JSON.parse(m!.data).data.html, "still flowing");
        await waitFor(() => stack.worker!.counts.dead >= deadBefore + 2, { what: "two dead letters" });
        const dead = [];
        for await (const d of fx.broker.read(stack.cfg.streams.deadLetters.name, { fromSeq: 1 }))
          dead.push(d);
        const codes = dead.map((d) => d.headers["Realer-Code"]);
        assert.ok(codes.includes("REALER_ERR_EVENT_DECODE"), `codes: ${codes}`);
        assert.ok(codes.includes("REALER_ERR_EVENT_UNKNOWN_TYPE"), `codes: ${codes}`);
      } finally {
        client.close();
      }
    });

    it("answers bad subscribe requests with a 4xx and an error code", async () => {
      const cases: [string, Record<string, string>, number, string][] = [
        ["/v1/sse?channel=bad.name", { accept: "text/event-stream" }, 400, "REALER_ERR_CHANNEL_INVALID"],
        ["/v1/sse", { accept: "text/event-stream" }, 400, "REALER_ERR_NO_CHANNELS"],
        [
          `/v1/sse?${Array.from({ length: 40 }, (_, i) => `channel=c${i}`).join("&")}`,
          { accept: "text/event-stream" },
          400,
          "REALER_ERR_TOO_MANY_CHANNELS",
        ],
        [
          "/v1/sse?channel=a",
          { accept: "text/event-stream", "last-event-id": "x7" },
          400,
          "REALER_ERR_LAST_EVENT_ID_INVALID",
        ],
        ["/v1/sse?channel=a", { accept: "application/json" }, 406, "REALER_ERR_NOT_EVENT_STREAM"],
      ];
      for (const [path, headers, status, code] of cases) {
        const res = await fetch(`${base}${path}`, { headers });
        assert.equal(res.status, status, path);
        assert.equal(((await res.json()) as { code: string }).code, code, path);
      }
      assert.equal((await fetch(`${base}/healthz`)).status, 200, "the edge is still up");
    });
  });
});
