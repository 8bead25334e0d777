/**
 * deploy/nginx/realer.conf.template, rendered for the test's ports, with Debian's nginx in
 * front of two real `realer edge` processes on a real nats-server: streams pass through
 * unbuffered, and a draining edge's 503 takes it out of rotation (nginx has no active health
 * checks: the failed request goes to the other edge) while its clients resume there.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startNginx } from "../helpers/nginx.js";
import { waitFor } from "../helpers/wait.js";
import { assertUnbuffered, balancedEdges, drainBehindBalancer } from "./load-balancer-fixture.js";

describe("nginx from deploy/ in front of two edges (real processes)", () => {
  const t = balancedEdges(([one, two]) => startNginx({ edges: [one.url, two.url] }));

  it("passes an SSE stream through unbuffered: each message arrives while the stream stays open", () =>
    assertUnbuffered(t, `nginx-live:${process.pid}`));

  it("takes a draining edge out of rotation on its 503; its clients resume on the other edge and miss nothing", async () => {
    const one = t.edges[0]!;
    await drainBehindBalancer(t, `nginx-drain:${process.pid}`, async () => {
      await waitFor(() => /upstream server temporarily disabled/.test(t.lb.output()), {
        timeoutMs: 15_000,
        what: "nginx to take edge one out of rotation",
      });
      assert.equal(one.p.proc.exitCode, null, "edge one left rotation while it was still draining");
    });
  });
});
