/** `realer worker` refuses a pipeline configuration it cannot build, with a clear error and a non-zero exit. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type JsFixture, spawnWorker, startJs } from "./worker-helpers.js";

// JetStream only: `realer worker` runs only with --nats (a worker on its own in-memory broker would serve nobody).
describe("worker pipeline configuration", () => {
  let fx: JsFixture;
  before(async () => {
    fx = await startJs();
  });
  after(async () => {
    await fx?.close();
  });

  it("exits non-zero naming an unknown stage", async () => {
    const w = spawnWorker(fx.server.url, {
      REALER_WORKER_PIPELINES: '{"*":["validate","teleport","publish"]}',
    });
    const { code } = await w.exited;
    assert.equal(code, 1);
    assert.match(
      w.output(),
      /realer: REALER_ERR_CONFIG_INVALID: .*unknown stage "teleport"; known: validate, dedupe, route, format, publish/,
    );
  });

  it("exits non-zero when REALER_WORKER_PIPELINES is not a JSON object of stage lists", async () => {
    const w = spawnWorker(fx.server.url, { REALER_WORKER_PIPELINES: '{"*":"validate"}' });
    const { code } = await w.exited;
    assert.notEqual(code, 0);
    assert.match(
      w.output(),
      /REALER_ERR_CONFIG_INVALID: .*REALER_WORKER_PIPELINES: "\*" is not a list of stage names/,
    );
  });
});
