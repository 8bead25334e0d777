/** In Chromium: two pages on the demo thread; a comment posted in one shows in the other. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import { launchBrowser } from "../helpers/browser.js";
import { type Stack, startStack } from "../helpers/stack.js";

describe("the demo page in Chromium", () => {
  let broker: MemoryBroker;
  let stack: Stack;
  let browser: Browser;
  before(async () => {
    broker = new MemoryBroker();
    stack = await startStack(broker);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    await broker?.close();
  });

  it("shows a comment posted in one page in another page of the same thread", async () => {
    const url = `${stack.edge!.url}/?thread=browsers`;
    const alice = await browser.newPage();
    const bob = await browser.newPage();
    await Promise.all([alice.goto(url), bob.goto(url)]);
    await Promise.all([
      alice.waitForSelector('#status[data-state="live"]'),
      bob.waitForSelector('#status[data-state="live"]'),
    ]);
    await alice.fill("#author", "alice");
    await alice.fill("#text", "Hello <bob> & welcome");
    await alice.click("#post");
    const seen = await bob.waitForSelector("#comments li .text", { timeout: 15_000 });
    assert.equal(await seen.textContent(), "Hello <bob> & welcome");
    assert.equal(await bob.textContent("#comments li .author"), "alice");
    // Escaped on the way: the text is text, not markup.
    assert.equal(await bob.locator("#comments li .text bob").count(), 0);
    assert.equal(await alice.locator("#comments li").count(), 1, "the poster sees it once too");
  });
});
