/** The worker's small listener: GET /metrics, GET /healthz from its health function, 404 with a code otherwise. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type MetricsServer, startMetricsServer, trackHub } from "../../src/admin/metrics-http.js";
import { WorkerNotRunning } from "../../src/errors.js";
import type { Health } from "../../src/metrics/health.js";

describe("metrics listener", () => {
  let health: Health = { state: "running" };
  let m: MetricsServer;
  let base: string;
  before(async () => {
    m = await startMetricsServer(0, "127.0.0.1", () => health);
    base = m.url.replace(/\/metrics$/, "");
  });
  after(async () => {
    await m?.close();
  });

  it("serves Prometheus text on /metrics", async () => {
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /text\/plain/);
  });

  it("answers /healthz with 200 and the fields, or 503 with the error's code", async () => {
    health = { state: "running", inFlight: 3 };
    let r = await fetch(`${base}/healthz`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true, state: "running", inFlight: 3 });
    health = { error: new WorkerNotRunning("draining"), state: "draining", inFlight: 1 };
    r = await fetch(`${base}/healthz`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), {
      ok: false,
      code: "REALER_ERR_WORKER_NOT_RUNNING",
      message: "the worker is draining: it claims no events",
      state: "draining",
      inFlight: 1,
    });
  });

  it("reports an edge's stream position only in a process with a hub, so the audit never takes a worker for an edge", async () => {
    const before = await (await fetch(`${base}/metrics`)).text();
    assert.doesNotMatch(before, /realer_edge_stream_position/);
    const untrack = trackHub({ position: 42 });
    try {
      const r = await (await fetch(`${base}/metrics`)).text();
      assert.match(r, /^realer_edge_stream_position 42$/m);
    } finally {
      untrack();
    }
  });

  it("answers anything else with 404 REALER_ERR_NOT_FOUND", async () => {
    const r = await fetch(`${base}/nope`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { code: string }).code, "REALER_ERR_NOT_FOUND");
  });
});
