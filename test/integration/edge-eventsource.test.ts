/**
 * The protocol against a real EventSource (Chromium): after an edge drains,
 * the browser's own reconnect carries the cursor from the `drain` frame as
 * Last-Event-ID, and the restarted edge resumes it with nothing lost and
 * nothing twice. Ids are `<epoch>-<seq>` strings the browser keeps as is.
 * On both brokers, with one browser for the file.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import type { Broker } from "../../src/broker/types.js";
import { ensureStreams } from "../../src/cli/components.js";
import { createEdge, type Edge } from "../../src/edge/create-edge.js";
import { createLogger } from "../../src/log/logger.js";
import { forEachBroker } from "../helpers/brokers.js";
import { launchBrowser } from "../helpers/browser.js";
import { testConfig } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";
import { publishTo } from "./edge-fixture.js";

/** What the page sees of an EventSource message (the DOM types are not loaded here). */
interface SseEvent {
  lastEventId: string;
  data: string;
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

forEachBroker((_kind, sb) => {
  describe("a real EventSource across an edge drain", () => {
    let broker: Broker;
    const cfg = testConfig((c) => {
      c.edge.drainSpreadMs = 200;
    });
    const edges: Edge[] = [];
    before(() => {
      broker = sb.broker;
    });
    after(async () => {
      for (const e of edges) await e.app.close();
    });

    async function edgeOn(port: number): Promise<{ edge: Edge; port: number }> {
      const edge = await createEdge(broker, cfg, createLogger({ level: cfg.logLevel }));
      edges.push(edge);
      await edge.app.listen({ host: "127.0.0.1", port });
      return { edge, port: (edge.app.server.address() as AddressInfo).port };
    }

    it("resumes from the drain frame's cursor on the browser's own reconnect", async () => {
      await ensureStreams(broker, cfg);
      const first = await edgeOn(0);
      const base = `http://127.0.0.1:${first.port}`;
      const page = await browser.newPage();
      await page.goto(`${base}/healthz`);
      await page.evaluate((url) => {
        const w = globalThis as unknown as { got: { id: string; text: string }[]; drains: string[] };
        w.got = [];
        w.drains = [];
        const es = new EventSource(url);
        es.addEventListener("note", (ev) => {
          const m = ev as unknown as SseEvent;
          w.got.push({ id: m.lastEventId, text: JSON.parse(m.data).data.text });
        });
        es.addEventListener("drain", (ev) => w.drains.push((ev as unknown as SseEvent).lastEventId));
      }, `${base}/v1/sse?channel=browser`);
      const got = () =>
        page.evaluate(() => (globalThis as unknown as { got: { id: string; text: string }[] }).got);
      await waitFor(() => first.edge.hub.subscribers("browser") === 1, { what: "the browser to subscribe" });
      for (let i = 0; i < 3; i++) await publishTo(broker, cfg, "browser", `a${i}`);
      await waitFor(async () => (await got()).length === 3, { what: "three messages in the browser" });

      await first.edge.app.close();
      for (let i = 0; i < 3; i++) await publishTo(broker, cfg, "browser", `b${i}`);
      const second = await edgeOn(first.port);
      await waitFor(async () => (await got()).length === 6, {
        timeoutMs: 20_000,
        what: "the browser to resume",
      });
      await publishTo(broker, cfg, "browser", "c0");
      await waitFor(async () => (await got()).length === 7, { what: "a live message after the resume" });

      const all = await got();
      assert.deepEqual(
        all.map((m) => m.text),
        ["a0", "a1", "a2", "b0", "b1", "b2", "c0"],
        "nothing lost, nothing twice",
      );
      assert.ok(
        all.every((m) => new RegExp(`^${second.edge.hub.epoch}-\\d+$`).test(m.id)),
        "ids are <epoch>-<seq>",
      );
      const drains = await page.evaluate(() => (globalThis as unknown as { drains: string[] }).drains);
      assert.equal(drains.length, 1);
      assert.equal(drains[0], all[2]!.id, "the drain frame carried the cursor of the last message");
      await page.close();
    });
  });
});
