/**
 * `realer bench` as a user runs it: against `realer dev` (the memory broker,
 * in its own process), with --json; and refusing bad options and
 * non-loopback targets with a message and exit code 2.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BenchResult } from "../../src/loadtest/bench.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";
import { cli } from "../integration/ops-cli.js";

describe("realer bench", () => {
  const dir = mkdtempSync(join(tmpdir(), "realer-bench-cli-"));
  const report = join(dir, "report.html");
  let dev: RealerProcess;
  let url: string;
  before(async () => {
    dev = spawnRealer(["dev", "--port", "0"]);
    url = (await dev.waitForLog(/realer dev: open/, 30_000)).url as string;
  });
  after(async () => {
    await dev?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads realer dev and prints the result as JSON: nothing lost, doubled or out of order", async () => {
    const r = await cli([
      "bench",
      "--url",
      url,
      "--subscribers",
      "300",
      "--channels",
      "3",
      "--rate",
      "60",
      "--duration",
      "2s",
      "--grace",
      "10s",
      "--server-pid",
      `dev=${dev.proc.pid}`,
      "--report",
      report,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as BenchResult;
    assert.equal(out.publish.sent, 120);
    assert.equal(out.totals.expected, 300 * 40);
    assert.equal(out.totals.delivered, 300 * 40);
    assert.deepEqual([out.totals.lost, out.totals.duplicates, out.totals.outOfOrder], [0, 0, 0]);
    assert.equal(out.subscribers.length, 300);
    assert.ok(out.series.length >= 2);
    // The server's CPU and memory were read from /proc once a second.
    assert.ok(
      out.series.some((s) => (s.servers.dev?.rssMB ?? 0) > 10),
      JSON.stringify(out.series.map((s) => s.servers)),
    );
    // Progress went to stderr, not into the JSON; the report is one HTML file with its data and chart library.
    assert.match(r.stderr, /publishing/);
    assert.match(r.stderr, new RegExp(`report written to ${report}`));
    const html = readFileSync(report, "utf8");
    assert.match(html, /^<!doctype html>/);
    assert.ok(html.includes(`"runId":"${out.runId}"`) && html.includes("uPlot"));
  });

  const refused: [string, string[], RegExp][] = [
    ["no subscribers", ["--subscribers", "0"], /subscribers must be a whole number from 1/],
    ["an unknown profile", ["--profile", "sideways"], /--profile sideways: use steady, ramp or burst/],
    ["a duration that is not one", ["--duration", "forever"], /--duration forever is not a duration/],
    ["a body without the marker", ["--body", '{"x":1}'], /must contain \{marker\}/],
    ["an unknown placeholder", ["--publish-url", "/pub/{chan}"], /unknown placeholder \{chan\}/],
    ["burst over several channels", ["--profile", "burst", "--channels", "4"], /one channel/],
    [
      "more subscribers than a process can hold",
      ["--subscribers", "40000", "--processes", "2"],
      /20000 per process; one process holds at most 19000/,
    ],
    [
      "a remote target",
      ["--url", "http://192.0.2.7:8080"],
      /192\.0\.2\.7.*not a loopback address: pass --allow-remote/,
    ],
  ];
  for (const [what, args, message] of refused) {
    it(`refuses ${what} with a message and exit code 2`, async () => {
      const r = await cli(["bench", ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }
});
