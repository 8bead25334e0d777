/**
 * deploy/haproxy/haproxy.cfg, unchanged, with Debian's HAProxy in front of two real
 * `realer edge` processes on a real nats-server: streams pass through frame by frame,
 * a draining edge leaves rotation (its /healthz answers 503) and its clients resume on
 * the other edge with their Last-Event-ID, missing nothing and seeing nothing twice.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startHaproxy } from "../helpers/haproxy.js";
import { resumingSse } from "../helpers/resuming-sse.js";
import { open, publishTo, texts } from "./edge-fixture.js";
import {
  assertUnbuffered,
  balancedEdges,
  connections,
  drainBehindBalancer,
  startEdgeProcess,
} from "./load-balancer-fixture.js";

describe("HAProxy from deploy/ in front of two edges (real processes)", () => {
  const t = balancedEdges(async ([one, two]) => {
    const lb = await startHaproxy({ edges: [one.url, two.url] });
    await lb.waitForServer("edge1", "UP");
    await lb.waitForServer("edge2", "UP");
    return lb;
  });

  it("passes an SSE stream through frame by frame: each message arrives while the stream stays open", () =>
    assertUnbuffered(t, `lb-live:${process.pid}`));

  it("limits open connections per client address (LB_MAX_CONN_PER_CLIENT) with a 429", async () => {
    const strict = await startHaproxy({ edges: [t.edges[0]!.url, t.edges[1]!.url], maxConnPerClient: 2 });
    try {
      const url = `${strict.url}/v1/sse?channel=lb-limit:${process.pid}`;
      const held = [await open(url), await open(url)];
      assert.deepEqual(
        held.map((h) => h.status),
        [200, 200],
      );
      const third = await open(url);
      assert.equal(third.status, 429);
      for (const h of [...held, third]) h.close();
    } finally {
      await strict.stop();
    }
  });

  it("takes a draining edge out of rotation; its clients resume on the other edge and miss nothing", async () => {
    const ch = `lb-drain:${process.pid}`;
    const one = t.edges[0]!;
    await drainBehindBalancer(t, ch, async () => {
      const down = await t.lb.waitForServer("edge1", "DOWN");
      assert.equal(one.p.proc.exitCode, null, "edge one left rotation while it was still draining");
      assert.match(down.check, /^L7STS/, "on its /healthz status (503), not on a refused connection");
    });

    // Back on its port, edge one rejoins rotation and takes new streams (it holds the fewest).
    const again = await startEdgeProcess(t.nats.url, one.port);
    t.edges[0] = again;
    await t.lb.waitForServer("edge1", "UP");
    const late = resumingSse(`${t.lb.url}/v1/sse?channel=${ch}`);
    t.cleanup(() => late.close());
    await late.waitForStreams(1);
    assert.equal(await connections(again), 1, "a new stream goes to the edge that came back");
    await publishTo(t.broker, t.cfg, ch, "after");
    assert.deepEqual(texts(await late.waitForMessages(1)), ["after"]);
  });
});
