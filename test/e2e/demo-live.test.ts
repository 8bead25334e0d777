/**
 * In Chromium, on a real nats-server with a worker and an edge: two pages on
 * the demo thread see each other's comments, edits and deletes live.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { launchBrowser } from "../helpers/browser.js";
import { type NatsServer, startJetStream } from "../helpers/nats-server.js";
import { type Stack, startStack, testConfig } from "../helpers/stack.js";

const LIVE = { timeout: 20_000 };

describe("the live-comments demo in Chromium", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let stack: Stack;
  let browser: Browser;
  before(async () => {
    ({ server, broker } = await startJetStream());
    stack = await startStack(broker, {
      cfg: testConfig((c) => {
        c.nats = server.url;
      }),
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    await broker?.close();
    await server?.stop();
  });

  const open = async (thread: string): Promise<Page> => {
    const page = await browser.newPage();
    await page.goto(`${stack.edge!.url}/?thread=${thread}`);
    await page.waitForSelector('#status[data-state="live"]', LIVE);
    return page;
  };
  const texts = (page: Page) => page.locator("#comments li .text").allTextContents();
  /** Waits for a condition evaluated in the page (a string: the test runs no DOM code itself). */
  const until = (page: Page, expr: string) => page.waitForFunction(expr, undefined, LIVE);
  const count = (n: number) => `document.querySelectorAll("#comments li").length === ${n}`;

  it("shows comments, edits and deletes made in one page in the other, live", async () => {
    const [alice, bob] = await Promise.all([open("live"), open("live")]);
    await alice.fill("#author", "alice");
    await alice.fill("#text", "First! <b>not bold</b>");
    await alice.click("#post");
    await bob.waitForSelector("#comments li .text", LIVE);
    assert.deepEqual(await texts(bob), ["First! <b>not bold</b>"]);
    assert.equal(await bob.textContent("#comments li .author"), "alice");

    await bob.fill("#author", "bob");
    await bob.fill("#text", "Hi alice");
    await bob.click("#post");
    await until(alice, count(2));
    assert.deepEqual(await texts(alice), ["Hi alice", "First! <b>not bold</b>"], "newest first, in both");

    // Bob edits alice's comment; alice sees the new text.
    const first = bob.locator("#comments li", { hasText: "First!" });
    await first.locator(".edit").click();
    await first.locator(".edit-text").fill("First, edited");
    await first.locator(".save").click();
    await until(
      alice,
      `[...document.querySelectorAll("#comments li .text")].some((p) => p.textContent === "First, edited")`,
    );
    assert.deepEqual(await texts(alice), ["Hi alice", "First, edited"]);
    assert.equal(
      await alice.locator("#comments li", { hasText: "First, edited" }).locator(".edited").isVisible(),
      true,
    );
    await until(bob, `!document.querySelector("#comments li.editing")`);
    assert.deepEqual(await texts(bob), ["Hi alice", "First, edited"]);

    // Alice deletes bob's comment; it goes from bob's page too.
    await alice.locator("#comments li", { hasText: "Hi alice" }).locator(".delete").click();
    await until(bob, count(1));
    assert.deepEqual(await texts(bob), ["First, edited"]);
    assert.deepEqual(await texts(alice), ["First, edited"]);

    // A third page opened now gets the same state from the channel's history.
    const carol = await open("live");
    await until(carol, count(1));
    assert.deepEqual(await texts(carol), ["First, edited"]);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  it("shows how many pages are here when the edge says, and nothing when it does not", async () => {
    const [a, b] = await Promise.all([open("presence"), open("presence")]);
    const res = await fetch(`${stack.edge!.url}/v1/channels/thread:presence`);
    if (res.status === 200) {
      await until(a, `document.getElementById("here")?.textContent === "2 here"`);
      assert.equal(await a.isVisible("#here"), true);
    } else {
      assert.equal(res.status, 404);
      assert.equal(await a.isVisible("#here"), false);
    }
    await Promise.all([a.close(), b.close()]);
  });

  it("in a dark launch receives the thread's messages, renders none and reports them", async () => {
    const live = await open("dark");
    const darkPage = await browser.newPage();
    await darkPage.goto(`${stack.edge!.url}/?thread=dark&dark=1`);
    await darkPage.waitForSelector('#status[data-state="live"]', LIVE);
    const outside = await browser.newPage();
    await outside.goto(`${stack.edge!.url}/?thread=dark&dark=0`);
    await live.fill("#author", "dana");
    await live.fill("#text", "seen by the dark page, not shown");
    await live.click("#post");
    await until(live, count(1));
    await until(darkPage, `document.getElementById("dark-report")?.dataset.received === "1"`);
    assert.equal(await darkPage.locator("#comments li").count(), 0, "nothing rendered");
    assert.match((await darkPage.textContent("#dark-report")) ?? "", /"comment\.created":1/);
    assert.equal(
      await outside.getAttribute("#status", "data-state"),
      "off",
      "a page view outside the share does not subscribe",
    );
    assert.equal(await outside.locator("#comments li").count(), 0);
    await Promise.all([live.close(), darkPage.close(), outside.close()]);
  });

  it("keeps a draft typed while the previous comment was being posted", async () => {
    const page = await open("draft");
    // Hold the post until the next draft is typed, then let it through.
    let held: (() => void) | undefined;
    const arrived = new Promise<void>((posted) => {
      void page.route("**/demo/threads/draft/comments", async (route) => {
        await new Promise<void>((release) => {
          held = release;
          posted();
        });
        await route.continue();
      });
    });
    await page.fill("#author", "erin");
    await page.fill("#text", "the first");
    await page.click("#post");
    await arrived;
    await page.fill("#text", "the next, half written");
    held!();
    await until(page, count(1));
    await until(page, '!document.getElementById("post").disabled');
    assert.equal(await page.inputValue("#text"), "the next, half written");
    await page.close();
  });

  it("serves the browser client at /client.js as an ES module", async () => {
    const res = await fetch(`${stack.edge!.url}/client.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /javascript/);
    const src = await res.text();
    assert.match(src, /export function subscribe/);
    assert.doesNotMatch(src, /^\s*import /m, "no dependencies");
  });
});
