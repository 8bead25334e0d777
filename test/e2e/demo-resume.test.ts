/**
 * In Chromium, with a worker and an edge as real processes on a real
 * nats-server: a demo page whose edge restarts shows everything published
 * while it was down, in order, with no duplicates.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { loadDomain } from "../../src/cli/components.js";
import { defaultConfig } from "../../src/config/config.js";
import { CommentCreated, CommentDeleted, CommentEdited } from "../../src/demo/comments.js";
import { Producer } from "../../src/producer/producer.js";
import { launchBrowser } from "../helpers/browser.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";
import { waitFor } from "../helpers/wait.js";

interface Seen {
  id: string;
  type: string;
  comment: string;
}

const cfg = defaultConfig();
const THREAD = "resume";
const LIVE = { timeout: 30_000 };

describe("a demo page across an edge restart", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let producer: Producer;
  let worker: RealerProcess;
  let edge: RealerProcess;
  let browser: Browser;
  before(async () => {
    server = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: server.url });
    producer = new Producer({
      broker,
      registry: loadDomain().registry,
      prefix: cfg.subjects.events,
      name: "resume-test",
    });
    worker = spawnRealer(["worker", "--nats", server.url]);
    await worker.waitForLog("worker running", 30_000);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await edge?.stop();
    await worker?.stop();
    await broker?.close();
    await server?.stop();
  });

  const startEdge = async (port: string) => {
    edge = spawnRealer(["edge", "--nats", server.url, "--demo", "--port", port]);
    return (await edge.waitForLog("edge listening", 30_000)).url as string;
  };
  const channelLastSeq = async () => (await broker.streamState(cfg.streams.channels.name)).lastSeq;
  const create = (text: string) => {
    const comment = { id: randomUUID(), threadId: THREAD, author: "offline", text, createdAt: Date.now() };
    return producer.emit(CommentCreated, `thread:${THREAD}`, { comment }).then(() => comment.id);
  };

  it("shows what was published while its edge was down, in order, once", async (t) => {
    const url = await startEdge("0");
    const port = new URL(url).port;
    const page: Page = await browser.newPage();
    await page.goto(`${url}/?thread=${THREAD}`);
    await page.waitForSelector('#status[data-state="live"]', LIVE);
    await page.fill("#author", "before");
    for (const text of ["one", "two"]) {
      await page.fill("#text", text);
      await page.click("#post");
      // Posted: the page clears the box and enables the button again.
      await page.waitForFunction(
        '!document.getElementById("post").disabled && document.getElementById("text").value === ""',
        undefined,
        LIVE,
      );
    }
    await page.waitForFunction('document.querySelectorAll("#comments li").length === 2', undefined, LIVE);
    const seenBefore = (await page.evaluate("realerDemo.seen")) as Seen[];
    const [one, two] = seenBefore.map((s) => s.comment) as [string, string];

    assert.equal(await edge.stop("SIGTERM"), 0, "the edge stops cleanly");
    await page.waitForSelector('#status:not([data-state="live"])', LIVE);

    // While the edge is down: five new comments, an edit and a delete.
    const from = await channelLastSeq();
    const created: string[] = [];
    for (let i = 1; i <= 5; i++) created.push(await create(`offline ${i}`));
    await producer.emit(CommentEdited, `thread:${THREAD}`, {
      commentId: one,
      threadId: THREAD,
      author: "offline",
      text: "one, edited offline",
      editedAt: Date.now(),
    });
    await producer.emit(CommentDeleted, `thread:${THREAD}`, { commentId: two, threadId: THREAD });
    await waitFor(async () => (await channelLastSeq()) === from + 7, {
      timeoutMs: 30_000,
      what: "the worker to publish 7 channel messages",
    });
    assert.equal(await page.locator("#comments li").count(), 2, "nothing arrived while the edge was down");

    await startEdge(port);
    await page.waitForFunction('document.querySelectorAll("#comments li").length === 6', undefined, LIVE);
    await page.waitForSelector('#status[data-state="live"]', LIVE);
    await page.waitForFunction("realerDemo.seen.length >= 9", undefined, LIVE);

    const seen = (await page.evaluate("realerDemo.seen")) as Seen[];
    t.diagnostic(`page received ${seen.length} messages: ${seen.map((s) => s.id).join(" ")}`);
    assert.deepEqual(
      seen.slice(2).map((s) => `${s.type} ${s.comment}`),
      [...created.map((id) => `comment.created ${id}`), `comment.edited ${one}`, `comment.deleted ${two}`],
      "everything published while down, in publish order",
    );
    assert.equal(new Set(seen.map((s) => s.id)).size, seen.length, "no message delivered twice");
    const seqs = seen.map((s) => Number(/(\d+)$/.exec(s.id)?.[1]));
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      seqs,
      "ids in stream order",
    );
    assert.deepEqual(await page.locator("#comments li .text").allTextContents(), [
      "offline 5",
      "offline 4",
      "offline 3",
      "offline 2",
      "offline 1",
      "one, edited offline",
    ]);
    await page.close();
  });
});
