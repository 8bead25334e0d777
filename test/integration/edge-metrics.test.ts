/** The edge's metrics on GET /metrics, on both brokers: connections, frames and bytes written, write latency, resumes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { forEachBroker } from "../helpers/brokers.js";
import { sseConnect } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { publishTo, startTestEdge } from "./edge-fixture.js";

function value(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(" ").at(-1)) : Number.NaN;
}

forEachBroker((_kind, sb) => {
  describe("edge metrics", () => {
    it("counts connections, frames, bytes and write rounds as clients receive messages", async () => {
      const broker = sb.broker;
      const e = await startTestEdge(broker);
      const scrape = async () => (await fetch(`${e.base}/metrics`)).text();
      try {
        const before = await scrape();
        const clients = [
          await sseConnect(`${e.base}/v1/sse?channel=m`),
          await sseConnect(`${e.base}/v1/sse?channel=m`),
        ];
        for (let i = 0; i < 3; i++) await publishTo(broker, e.cfg, "m", `n${i}`);
        for (const c of clients) await c.waitForMessages(3);
        const mid = await scrape();
        assert.equal(value(mid, "realer_edge_connections") - value(before, "realer_edge_connections"), 2);
        assert.ok(
          value(mid, "realer_edge_frames_written_total") -
            value(before, "realer_edge_frames_written_total") >=
            6,
        );
        const bytes =
          value(mid, "realer_edge_bytes_written_total") - value(before, "realer_edge_bytes_written_total");
        assert.ok(bytes >= 6 * 40, `bytes written ${bytes}`);
        assert.ok(
          value(mid, "realer_edge_write_latency_seconds_count") >
            value(before, "realer_edge_write_latency_seconds_count"),
        );
        assert.match(mid, /realer_edge_resumes_total\{outcome="live"\} \d+/);
        for (const c of clients) c.close();
        await waitFor(
          async () =>
            value(await scrape(), "realer_edge_connections") === value(before, "realer_edge_connections"),
          {
            what: "the gauge to fall back",
          },
        );
      } finally {
        await e.close();
      }
    });
  });
});
