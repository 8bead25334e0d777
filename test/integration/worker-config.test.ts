/** `realer worker` refuses a pipeline configuration it cannot build, with a clear error and a non-zero exit. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { natsConnectionOf } from "../../src/broker/jetstream/broker.js";
import { spawnRealer } from "../helpers/realer-process.js";
import { type JsFixture, spawnWorker, startJs } from "./worker-helpers.js";

/** A stream's configuration as nats-server holds it. */
async function streamConfig(fx: JsFixture, name: string): Promise<Record<string, number>> {
  const r = await natsConnectionOf(fx.broker).request(`$JS.API.STREAM.INFO.${name}`, undefined, {
    timeout: 5000,
  });
  return (JSON.parse(new TextDecoder().decode(r.data)) as { config: Record<string, number> }).config;
}

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

  it("refuses to start when its redeliveries can outlast the channel stream's duplicate window", async () => {
    const w = spawnWorker(fx.server.url, { REALER_CHANNELS_DUPLICATE_WINDOW_MS: "60000" });
    const { code } = await w.exited;
    assert.equal(code, 1);
    assert.match(w.output(), /realer: REALER_ERR_DUPLICATE_WINDOW_SHORT: .*\(60000 ms\).*\(107500 ms/);
  });

  it("sets the stream limits its flags give, over the environment", async () => {
    const w = spawnRealer(
      ["worker", "--nats", fx.server.url, "--events-max-msgs", "12345", "--channels-max-per-channel", "7"],
      { REALER_EVENTS_MAX_MSGS: "999", REALER_DLQ_MAX_BYTES: "4194304" },
    );
    try {
      await w.waitForLog("worker running");
      assert.equal((await streamConfig(fx, "REALER_EVENTS")).max_msgs, 12345);
      assert.equal((await streamConfig(fx, "REALER_CHANNELS")).max_msgs_per_subject, 7);
      assert.equal((await streamConfig(fx, "REALER_DLQ")).max_bytes, 4194304);
    } finally {
      await w.stop();
    }
  });

  it("exits with a usage error naming a stream-limit flag whose value is not a number", async () => {
    const w = spawnRealer(["worker", "--nats", fx.server.url, "--events-max-bytes", "lots"]);
    assert.equal(await w.exited, 2);
    assert.match(w.stderr(), /realer: --events-max-bytes=lots: expected an integer >= 0/);
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
