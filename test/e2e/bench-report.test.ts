/**
 * The HTML report of a real run (a realer edge on the memory broker, this
 * process's CPU and memory charted from /proc and from the edge's
 * /metrics), opened from a file in Chromium: it
 * draws every chart with data, fetches nothing, and logs no error. A
 * screenshot is left in test-results/bench-report.png.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import { runBench } from "../../src/loadtest/bench.js";
import { renderReport } from "../../src/loadtest/report-html.js";
import { launchBrowser } from "../helpers/browser.js";
import { type Stack, startStack } from "../helpers/stack.js";

describe("the bench report", () => {
  const broker = new MemoryBroker();
  let stack: Stack;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), "realer-bench-report-"));
  before(async () => {
    stack = await startStack(broker);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("draws its charts from a file, with data, fetching nothing and logging no error", async () => {
    const result = await runBench({
      url: stack.edge!.url,
      subscribers: 40,
      channels: 4,
      rate: 40,
      durationMs: 3_000,
      graceMs: 5_000,
      servers: [
        { name: "realer (this process)", pid: process.pid },
        { name: "edge /metrics", metricsUrl: `${stack.edge!.url}/metrics` },
      ],
    });
    assert.equal(result.totals.lost, 0);
    // Both sources were read every second: /proc for the pid, the Prometheus text for the URL.
    for (const name of ["realer (this process)", "edge /metrics"]) {
      const readings = result.series.map((s) => s.servers[name]).filter((x) => x !== undefined);
      assert.ok(readings.length >= 3, `${name}: ${readings.length} readings`);
      assert.ok(
        readings.every((x) => (x.rssMB ?? 0) > 10),
        JSON.stringify(readings),
      );
      assert.ok(
        readings.some((x) => (x.cpuCores ?? 0) > 0),
        JSON.stringify(readings),
      );
    }
    const file = join(dir, "report.html");
    writeFileSync(file, renderReport(result));

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(`document.querySelectorAll("canvas").length === 6`);

    assert.match(
      (await page.locator(".verdict").textContent()) ?? "",
      new RegExp(
        `Every message reached every subscriber once and in order \\(${(40 * 30).toLocaleString("en-US")} deliveries\\)`,
      ),
    );
    // Each chart's title, how many of its points are above zero, and how many of its canvas pixels are drawn.
    const charts = (await page.evaluate(`window.benchCharts.map((u) => {
      const canvas = u.root.querySelector("canvas");
      const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let inked = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) inked++;
      const points = u.data.slice(1).reduce((s, ys) => s + ys.filter((y) => y !== null && y > 0).length, 0);
      return { title: u.root.querySelector(".u-title").textContent, points, inked };
    })`)) as { title: string; points: number; inked: number }[];
    assert.deepEqual(
      charts.map((c) => c.title),
      [
        "Deliveries and publishes per second",
        "Latency, publish to delivery (ms, log scale)",
        "Connections",
        "Duplicates, out of order, control frames (per second)",
        "Server CPU (cores)",
        "Server resident memory (MB)",
      ],
    );
    for (const c of charts) assert.ok(c.inked > 1000, `${c.title}: ${c.inked} pixels drawn`);
    // Every chart but the anomalies (none in this run) has points above zero; the server charts one line per source.
    assert.equal(
      await page.locator("#chart-cpu .u-legend .u-series").count(),
      3, // the x column and two sources
    );
    for (const c of charts.filter((x) => !x.title.startsWith("Duplicates")))
      assert.ok(c.points >= 2, `${c.title}: ${c.points} points`);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith("file:")),
      [],
    );
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/bench-report.png", fullPage: true });
    await page.close();
  });
});
