/**
 * The command line as a user runs it: worker and edge as separate processes on
 * a real nats-server, `realer publish` from the shell, an SSE client at the end.
 * And the same through `realer dev` on the embedded broker.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";
import { sseConnect } from "../helpers/sse-client.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
      env: { ...process.env, ...env },
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("exit", (code) => resolve({ code, out, err }));
  });
}

describe("realer worker + realer edge as separate processes on JetStream", () => {
  let nats: NatsServer;
  let worker: RealerProcess;
  let edge: RealerProcess;
  let url: string;
  before(async () => {
    nats = await startNatsServer();
    worker = spawnRealer(["worker", "--nats", nats.url]);
    edge = spawnRealer(["edge", "--nats", nats.url, "--port", "0"]);
    url = (await edge.waitForLog("edge listening")).url as string;
    await worker.waitForLog("worker running");
  });
  after(async () => {
    await edge?.stop();
    await worker?.stop();
    await nats?.stop();
  });

  it("delivers an event emitted by `realer publish` to an SSE client", async () => {
    const client = await sseConnect(`${url}/v1/sse?channel=thread:cli`);
    try {
      const r = await cli([
        "publish",
        "comment",
        "--nats",
        nats.url,
        "--thread",
        "cli",
        "--author",
        "sam",
        "--text",
        "from the shell",
      ]);
      assert.equal(r.code, 0, r.err);
      const published = JSON.parse(r.out) as { seq: number; id: string };
      assert.ok(published.seq >= 1);
      const [m] = await client.waitForMessages(1, 20_000);
      const body = JSON.parse(m!.data);
      assert.equal(body.event_id, published.id);
      assert.equal(body.data.author, "sam");
      assert.equal(body.data.html, "from the shell");
    } finally {
      client.close();
    }
  });

  it("refuses `realer publish` without a broker or with a bad body, with a message and a non-zero exit", async () => {
    const none = await cli(["publish"], { REALER_NATS_URL: "" });
    assert.equal(none.code, 2);
    assert.match(none.err, /needs --nats/);
    const bad = await cli([
      "publish",
      "comments.v1.CommentCreated",
      "--nats",
      nats.url,
      "--key",
      "k",
      "--data",
      "{nope",
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--data is not JSON/);
    const unknown = await cli(["publish", "no.such.Type", "--nats", nats.url, "--key", "k", "--data", "{}"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.err, /unknown event type/);
  });

  it("drains and exits 0 on SIGTERM", async () => {
    const extra = spawnRealer(["worker", "--nats", nats.url]);
    await extra.waitForLog("worker running");
    assert.equal(await extra.stop("SIGTERM"), 0);
  });
});

describe("realer dev: everything in one process on the embedded broker", () => {
  let dev: RealerProcess;
  let url: string;
  before(async () => {
    dev = spawnRealer(["dev", "--port", "0"]);
    url = (await dev.waitForLog("edge listening")).url as string;
  });
  after(async () => {
    await dev?.stop();
  });

  it("serves the demo page", async () => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<title>realer/);
  });

  it("delivers an event emitted by `realer publish --url` to an SSE client", async () => {
    const client = await sseConnect(`${url}/v1/sse?channel=thread:devcli`);
    try {
      const r = await cli(["publish", "--url", url, "--thread", "devcli", "--text", "through ingest"]);
      assert.equal(r.code, 0, r.err);
      const [m] = await client.waitForMessages(1, 20_000);
      assert.equal(JSON.parse(m!.data).data.html, "through ingest");
    } finally {
      client.close();
    }
  });
});
