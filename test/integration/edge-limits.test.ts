/**
 * Every limit of the edge, each refusal a 4xx with its code: channel
 * grammar, channels per connection, connections per client address, the
 * CORS allow-list, Last-Event-ID form, Accept, and a draining edge; on both brokers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { edgeMetrics } from "../../src/edge/metrics.js";
import { forEachBroker } from "../helpers/brokers.js";
import { sseConnect } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { type EdgeUnderTest, metric, open, startTestEdge } from "./edge-fixture.js";

async function refusal(url: string, opts: Parameters<typeof open>[1] = {}) {
  const r = await open(url, opts);
  r.close();
  return { status: r.status, code: r.body ? (JSON.parse(r.body) as { code: string }).code : undefined };
}

forEachBroker((_kind, sb) => {
  describe("edge limits", () => {
    let e: EdgeUnderTest;
    before(async () => {
      e = await startTestEdge(sb.broker, (c) => {
        c.edge.maxChannels = 3;
        c.edge.maxConnectionsPerAddress = 2;
        c.edge.corsOrigins = ["https://good.example"];
      });
    });
    after(async () => {
      await e?.close();
    });
    const sse = (q: string) => `${e.base}/v1/sse?${q}`;

    for (const [label, query, code] of [
      ["a channel name with a dot", "channel=a.b", "REALER_ERR_CHANNEL_INVALID"],
      ["a channel name with a wildcard", "channel=a:*", "REALER_ERR_CHANNEL_INVALID"],
      ["an empty segment", "channel=a::b", "REALER_ERR_CHANNEL_INVALID"],
      ["a 129-character name", `channel=${"x".repeat(129)}`, "REALER_ERR_CHANNEL_INVALID"],
      ["no channel", "", "REALER_ERR_NO_CHANNELS"],
      [
        "more channels than the limit",
        "channel=a&channel=b&channel=c&channel=d",
        "REALER_ERR_TOO_MANY_CHANNELS",
      ],
    ] as const) {
      it(`refuses ${label} with 400 ${code}`, async () => {
        assert.deepEqual(await refusal(sse(query)), { status: 400, code });
      });
    }

    it("counts repeated channels once against the limit", async () => {
      const r = await open(sse("channel=a&channel=b&channel=c&channel=a"));
      assert.equal(r.status, 200);
      r.close();
    });

    for (const bad of ["abc", "-1", "k1-", "1.5", "K1-2"]) {
      it(`refuses the malformed Last-Event-ID ${JSON.stringify(bad)} with 400`, async () => {
        assert.deepEqual(await refusal(sse("channel=a"), { headers: { "last-event-id": bad } }), {
          status: 400,
          code: "REALER_ERR_LAST_EVENT_ID_INVALID",
        });
      });
    }

    it("refuses a request that does not accept text/event-stream with 406", async () => {
      assert.deepEqual(await refusal(sse("channel=a"), { headers: { accept: "application/json" } }), {
        status: 406,
        code: "REALER_ERR_NOT_EVENT_STREAM",
      });
    });

    it("holds each client address to its connection limit, and frees a slot when a connection closes", async () => {
      const held = [
        await open(sse("channel=a"), { localAddress: "127.0.0.3" }),
        await open(sse("channel=b"), { localAddress: "127.0.0.3" }),
      ];
      assert.deepEqual(
        held.map((r) => r.status),
        [200, 200],
      );
      const before = await metric(edgeMetrics.refusals, { code: "REALER_ERR_TOO_MANY_CONNECTIONS" });
      assert.deepEqual(await refusal(sse("channel=c"), { localAddress: "127.0.0.3" }), {
        status: 429,
        code: "REALER_ERR_TOO_MANY_CONNECTIONS",
      });
      assert.equal(
        await metric(edgeMetrics.refusals, { code: "REALER_ERR_TOO_MANY_CONNECTIONS" }),
        before + 1,
      );
      const other = await open(sse("channel=c"), { localAddress: "127.0.0.4" });
      assert.equal(other.status, 200, "another address is not affected");
      other.close();
      held[0]!.close();
      await waitFor(
        async () => {
          const r = await open(sse("channel=c"), { localAddress: "127.0.0.3" });
          r.close();
          return r.status === 200;
        },
        { what: "the closed connection's slot to come back" },
      );
      held[1]!.close();
    });

    it("answers an allowed origin with CORS headers, on the stream and on a preflight", async () => {
      const r = await open(sse("channel=a"), { headers: { origin: "https://good.example" } });
      assert.equal(r.status, 200);
      assert.equal(r.headers["access-control-allow-origin"], "https://good.example");
      r.close();
      const pre = await fetch(sse("channel=a"), {
        method: "OPTIONS",
        headers: {
          origin: "https://good.example",
          "access-control-request-method": "GET",
          "access-control-request-headers": "last-event-id",
        },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get("access-control-allow-origin"), "https://good.example");
      assert.match(pre.headers.get("access-control-allow-headers") ?? "", /Last-Event-ID/i);
    });

    it("refuses an origin off the allow-list with 403, and lets the edge's own origin through", async () => {
      assert.deepEqual(await refusal(sse("channel=a"), { headers: { origin: "https://evil.example" } }), {
        status: 403,
        code: "REALER_ERR_ORIGIN_FORBIDDEN",
      });
      const pre = await fetch(sse("channel=a"), {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
      });
      assert.equal(pre.status, 403);
      assert.equal(((await pre.json()) as { code: string }).code, "REALER_ERR_ORIGIN_FORBIDDEN");
      const own = await open(sse("channel=a"), { headers: { origin: e.base } });
      assert.equal(own.status, 200);
      own.close();
    });

    it("answers occupancy with the channel grammar enforced", async () => {
      assert.deepEqual(
        await refusal(`${e.base}/v1/channels/bad.name`, { headers: { accept: "application/json" } }),
        {
          status: 400,
          code: "REALER_ERR_CHANNEL_INVALID",
        },
      );
    });
  });

  describe("a draining edge", () => {
    it("refuses new subscriptions with 503 REALER_ERR_EDGE_DRAINING while its clients drain", async () => {
      const e = await startTestEdge(sb.broker);
      const url = `${e.base}/v1/sse?channel=d`;
      const reader = await sseConnect(url);
      const drained = e.hub.drain(200);
      try {
        assert.deepEqual(await refusal(url), { status: 503, code: "REALER_ERR_EDGE_DRAINING" });
        const health = await fetch(`${e.base}/healthz`);
        assert.equal(health.status, 503, "load balancers stop sending clients here");
        assert.equal(((await health.json()) as { code: string }).code, "REALER_ERR_EDGE_DRAINING");
        await reader.waitForEvent("drain");
        await drained;
      } finally {
        await e.close();
      }
    });
  });
});
