import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import type { StoredMessage } from "../../src/broker/types.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { decodeChannelMessage } from "../../src/events/envelope.js";
import { createLogger } from "../../src/log/logger.js";
import type { Handler } from "../../src/pipeline/handler.js";
import { CheckpointStore } from "../../src/replay/checkpoint.js";
import { dryRun } from "../../src/replay/dry-run.js";
import { type ReplayContext, replay, resume } from "../../src/replay/replayer.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type Stack, startStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";
import { cli } from "./ops-cli.js";

const EVENTS = 12;

async function collect(it: AsyncIterable<StoredMessage>): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}

describe("realer replay on JetStream", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let stack: Stack;
  let eventIds: string[];

  before(async () => {
    server = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: server.url });
    stack = await startStack(broker, { edge: false });
    stack.cfg.nats = server.url;
    eventIds = [];
    for (let i = 0; i < EVENTS; i++) {
      const { event } = await stack.producer.emit(CommentCreated.name, "thread:t1", {
        comment: {
          id: `c${i}`,
          threadId: "t1",
          author: "ann",
          text: `comment ${i}`,
          createdAt: 1_700_000_000_000 + i,
        },
      });
      eventIds.push(event.id);
    }
    await waitFor(
      async () => (await broker.streamState(stack.cfg.streams.channels.name)).lastSeq === EVENTS,
      {
        timeoutMs: 30_000,
        what: "the worker to publish every channel message",
      },
    );
  });

  after(async () => {
    await stack?.close();
    await broker?.close();
    await server?.stop();
  });

  /** The demo handlers with a "fixed" comment formatter: html now wrapped in a paragraph. */
  function fixedHandlers(): Map<string, Handler> {
    const handlers = new Map(stack.domain.handlers);
    const old = handlers.get(CommentCreated.name)!;
    handlers.set(CommentCreated.name, {
      ...old,
      format: (body, event, context) => {
        const r = old.format(body, event, context);
        const data = r.data as { html: string };
        return { ...r, data: { ...data, html: `<p>${data.html}</p>` } };
      },
    });
    return handlers;
  }

  function context(extra: Partial<ReplayContext> = {}): ReplayContext {
    return {
      broker,
      cfg: stack.cfg,
      registry: stack.domain.registry,
      handlers: fixedHandlers(),
      checkpoints: new CheckpointStore(broker, "memory"),
      log: createLogger({ level: "silent" }),
      ...extra,
    };
  }

  async function channelTail(fromSeq: number) {
    const ms = await collect(broker.read(stack.cfg.streams.channels.name, { fromSeq }));
    return ms.map((m) => ({ m, cm: decodeChannelMessage(m.data) }));
  }

  it("dry-runs a range: every output shows what the channel holds next to the new rendering", async () => {
    const d = await dryRun(context(), { mode: "events", fromSeq: 4, toSeq: 9 });
    assert.equal(d.events, 6);
    assert.equal(d.changed, 6);
    assert.equal(d.unchanged + d.added + d.failed, 0);
    const first = d.entries[0]!;
    assert.equal(first.seq, 4);
    assert.equal(first.eventId, eventIds[3]);
    assert.match(first.before!.data, /"html":"comment 3"/);
    assert.match(first.after.data, /"html":"<p>comment 3<\/p>"/);
    const same = await dryRun(context({ handlers: stack.domain.handlers }), {
      mode: "events",
      fromSeq: 4,
      toSeq: 9,
    });
    assert.equal(same.unchanged, 6, "the current formatter renders what was produced");
    assert.equal(
      (await broker.streamState(stack.cfg.streams.channels.name)).lastSeq,
      EVENTS,
      "a dry run publishes nothing",
    );
  });

  it("after a formatter change re-renders exactly the events of the range, with rate and ETA in its progress", async () => {
    const lines: string[] = [];
    const before = (await broker.streamState(stack.cfg.streams.channels.name)).lastSeq;
    const cp = await replay(
      context({ progress: { write: (s: string) => lines.push(s) }, progressIntervalMs: 40 }),
      {
        mode: "events",
        fromSeq: 4,
        toSeq: 9,
        rate: 10,
      },
    );
    assert.equal(cp.status, "done");
    assert.deepEqual(
      {
        matched: cp.counts.matched,
        published: cp.counts.published,
        duplicates: cp.counts.duplicates,
        failed: cp.counts.failed,
      },
      { matched: 6, published: 6, duplicates: 0, failed: 0 },
    );
    const replayed = await channelTail(before + 1);
    assert.deepEqual(
      replayed.map((r) => r.cm.eventId),
      eventIds.slice(3, 9),
      "exactly the events of 4..9, in order",
    );
    for (const r of replayed) {
      assert.match(r.cm.data, /"html":"<p>comment \d+<\/p>"/);
      assert.equal(r.m.headers["Realer-Replay"], cp.id);
    }
    assert.ok(lines.length >= 2, `several progress lines, got ${JSON.stringify(lines)}`);
    for (const l of lines) assert.match(l, /\d+\/6 \| \d+(\.\d)? ev\/s \| ETA (\d\d:\d\d|--:--)/);
    assert.match(lines.at(-1)!, /100% 6\/6 .* ETA 00:00/);
    assert.ok(
      lines.some((l) => /ETA 00:0[0-9]/.test(l) && !/100%/.test(l)),
      "an ETA while running",
    );
  });

  it("resumes an interrupted replay where it stopped, redoing nothing", async () => {
    const ac = new AbortController();
    const startSeq = (await broker.streamState(stack.cfg.streams.channels.name)).lastSeq;
    const ctx = context({ signal: ac.signal, onProgress: (p) => p.counts.matched >= 5 && ac.abort() });
    const stopped = await replay(ctx, { mode: "events", fromSeq: 1, toSeq: EVENTS, rate: 50 });
    assert.equal(stopped.status, "stopped");
    assert.equal(stopped.next, 6, "the checkpoint names the first event not replayed");
    assert.equal(stopped.counts.published, 5);

    const resumed = await resume(context(), stopped.id);
    assert.equal(resumed.status, "done");
    assert.equal(resumed.counts.scanned, EVENTS, "5 before the stop + 7 after: nothing read twice");
    assert.equal(resumed.counts.published, EVENTS);
    assert.equal(resumed.counts.duplicates, 0, "nothing was redone");

    const mine = (await channelTail(startSeq + 1)).filter((r) => r.m.headers["Realer-Replay"] === stopped.id);
    assert.deepEqual(
      mine.map((r) => r.cm.eventId),
      eventIds,
      "each event replayed once, in order",
    );
    const again = await resume(context(), stopped.id);
    assert.equal(again.status, "done", "resuming a finished replay does nothing");
    assert.equal((await broker.streamState(stack.cfg.streams.channels.name)).lastSeq, startSeq + EVENTS);
  });

  it("resends a channel's history from a sequence to its subscribers", async () => {
    const before = (await broker.streamState(stack.cfg.streams.channels.name)).lastSeq;
    const cp = await replay(context(), { mode: "channel", channel: "thread:t1", fromSeq: 10, toSeq: 12 });
    assert.equal(cp.counts.published, 3);
    const resent = await channelTail(before + 1);
    assert.deepEqual(
      resent.map((r) => r.cm.eventId),
      eventIds.slice(9, 12),
    );
  });

  it("refuses ranges outside the stream, reversed ranges and unknown replays with codes", async () => {
    await assert.rejects(
      replay(context(), { mode: "events", fromSeq: 5, toSeq: 999 }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "REALER_ERR_REPLAY_RANGE");
        assert.match(err.message, /5\.\.999 is outside what REALER_EVENTS stores 1\.\.12/);
        return true;
      },
    );
    await assert.rejects(replay(context(), { mode: "events", fromSeq: 9, toSeq: 3 }), {
      code: "REALER_ERR_REPLAY_RANGE",
    });
    await assert.rejects(replay(context(), { mode: "events", fromSeq: 0 }), {
      code: "REALER_ERR_REPLAY_RANGE",
    });
    await assert.rejects(replay(context(), { mode: "events", type: "no.such.Type" }), {
      code: "REALER_ERR_EVENT_UNKNOWN_TYPE",
    });
    await assert.rejects(replay(context(), { mode: "channel", channel: "bad channel" }), {
      code: "REALER_ERR_CHANNEL_INVALID",
    });
    await assert.rejects(resume(context(), "rnothere"), { code: "REALER_ERR_REPLAY_NOT_FOUND" });
  });

  it("the command line prints progress with rate and ETA, and a coded error for a bad range", async () => {
    const ok = await cli(["replay", "--nats", server.url, "--from", "1", "--to", "4", "--rate", "10"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /\[#+-*\] \d+% \d\/4 \| [\d.]+ ev\/s \| ETA \d\d:\d\d/);
    assert.match(ok.stdout, /replay r\w+ done: 1\.\.4 next 5; scanned 4, matched 4, published 4/);
    const bad = await cli(["replay", "--nats", server.url, "--from", "1", "--to", "5000"]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /realer: REALER_ERR_REPLAY_RANGE: replay range is invalid: 1\.\.5000 is outside/,
    );
    const usage = await cli(["replay", "--nats", server.url, "--from", "x"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--from x: expected an integer/);
  });
});
