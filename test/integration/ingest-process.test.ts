/**
 * `realer ingest` as its own process on a real nats-server, driven by the
 * standard-library Python snippet from docs/producers.md (run as written).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { defaultConfig } from "../../src/config/config.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { decodeEvent } from "../../src/events/envelope.js";
import { assertHealthAcrossOutage } from "../helpers/health.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";

const doc = readFileSync(new URL("../../docs/producers.md", import.meta.url), "utf8");
const snippet = /```python\n("""realer_emit\.py[\s\S]*?)```/.exec(doc)?.[1];

describe("realer ingest with the Python snippet from the docs", () => {
  let server: NatsServer;
  let ingest: RealerProcess;
  let url: string;
  let dir: string;
  before(async () => {
    assert.ok(snippet, "docs/producers.md has the realer_emit.py snippet");
    const py = spawnSync("python3", ["--version"]);
    assert.equal(py.status, 0, "python3 is needed to run the documented snippet: apt-get install python3");
    dir = mkdtempSync(join(tmpdir(), "realer-py-"));
    writeFileSync(join(dir, "realer_emit.py"), snippet!);
    server = await startNatsServer();
    ingest = spawnRealer(["ingest", "--nats", server.url, "--port", "0"], {
      REALER_INGEST_KEYS: "py-key,other",
    });
    url = (await ingest.waitForLog("ingest listening", 30_000)).url as string;
  });
  after(async () => {
    await ingest?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runSnippet = (key: string) =>
    spawnSync("python3", [join(dir, "realer_emit.py")], {
      env: { ...process.env, REALER_INGEST_URL: url, REALER_INGEST_KEY: key },
      encoding: "utf8",
      timeout: 30_000,
    });

  it("stores the comment the snippet emits and answers with its sequence", async () => {
    const r = runSnippet("py-key");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /'seq': 1, 'duplicate': False/);
    const broker = await JetStreamBroker.connect({ servers: server.url });
    try {
      const stored = [];
      for await (const m of broker.read(defaultConfig().streams.events.name, { fromSeq: 1 })) stored.push(m);
      assert.equal(stored.length, 1);
      const e = decodeEvent(stored[0]!.data);
      assert.equal(e.key, "thread:demo");
      const c = CommentCreated.decode(e.payload).comment;
      assert.equal(c?.threadId, "demo", "snake_case thread_id mapped onto the schema");
      assert.equal(c?.text, "Hello from the standard library");
    } finally {
      await broker.close();
    }
  });

  it("makes the snippet raise the refusal's code for a wrong key, without retrying", () => {
    const r = runSnippet("not-a-key");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /RealerRefused: REALER_ERR_INGEST_UNAUTHORIZED/);
  });

  it("takes `realer publish --url` with --api-key, and refuses it without", async () => {
    const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;
    const publish = (extra: string[]) =>
      spawnSync(
        process.execPath,
        ["--import", "tsx", main, "publish", "--url", url, "--thread", "cli", "--text", "keyed", ...extra],
        {
          env: { ...process.env, REALER_INGEST_KEY: "" },
          encoding: "utf8",
          timeout: 30_000,
        },
      );
    const ok = publish(["--api-key", "other"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { duplicate: boolean }).duplicate, false);
    const refused = publish([]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /REALER_ERR_INGEST_UNAUTHORIZED/);
  });

  it("takes `realer publish --header`, and refuses a header NATS would refuse with a message and exit 1", async () => {
    const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;
    const publish = (to: string[], header: string) =>
      spawnSync(process.execPath, ["--import", "tsx", main, "publish", ...to, "--header", header], {
        env: { ...process.env, REALER_INGEST_KEY: "other" },
        encoding: "utf8",
        timeout: 30_000,
      });
    const events = await JetStreamBroker.connect({ servers: server.url });
    try {
      const stream = defaultConfig().streams.events.name;
      const ok = publish(["--url", url, "--thread", "hdr"], "X-Tenant: acme");
      assert.equal(ok.status, 0, ok.stderr);
      const { seq } = JSON.parse(ok.stdout) as { seq: number };
      const stored = await events.getMessage(stream, seq);
      assert.equal(decodeEvent(stored!.data).headers["X-Tenant"], "acme");
      const before = (await events.streamState(stream)).lastSeq;
      for (const to of [
        ["--url", url],
        ["--nats", server.url],
      ]) {
        for (const bad of ["X Tenant: acme", "Nats-Msg-Id: steer", "X-Tenant: ac\u0001me"]) {
          const r = publish(to, bad);
          assert.equal(r.status, 1, `${to[0]} ${JSON.stringify(bad)}: ${r.stderr}`);
          assert.match(r.stderr, /^realer: REALER_ERR_HEADER_INVALID: header ".*" is refused: /);
        }
      }
      const noColon = publish(["--nats", server.url], "X-Tenant acme");
      assert.equal(noColon.status, 2);
      assert.match(noColon.stderr, /--header "X-Tenant acme": expected Name: value/);
      assert.equal((await events.streamState(stream)).lastSeq, before, "nothing stored");
    } finally {
      await events.close();
    }
  });

  it("answers its health check with the producer's counts", async () => {
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { ok: boolean; published: number };
    assert.equal(body.ok, true);
    assert.equal(typeof body.published, "number");
  });

  it("answers it with 503 while the NATS connection is down, and 200 once it is back", async () => {
    await assertHealthAcrossOutage(`${url}/healthz`, server);
  });
});
