import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fastify } from "fastify";
import type { Browser } from "playwright-core";
import { adminRoutes } from "../../src/admin/routes.js";
import type { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { loadDomain } from "../../src/cli/components.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { installErrorHandler } from "../../src/http/errors.js";
import { createLogger } from "../../src/log/logger.js";
import { launchBrowser } from "../helpers/browser.js";
import { type NatsServer, startJetStream } from "../helpers/nats-server.js";
import { type SseClient, sseConnect } from "../helpers/sse-client.js";
import { type Stack, startStack, testConfig } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

const TOKEN = "admin-s3cret";

describe("the live admin page", () => {
  let server: NatsServer;
  let broker: JetStreamBroker;
  let stack: Stack;
  let browser: Browser;
  let sse: SseClient;
  let n = 0;

  before(async () => {
    ({ server, broker } = await startJetStream());
    stack = await startStack(broker, {
      cfg: testConfig((c) => {
        c.nats = server.url;
        c.admin.token = TOKEN;
      }),
    });
    sse = await sseConnect(`${stack.edge!.url}/v1/sse?channel=thread:live`);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    sse?.close();
    await stack?.close();
    await broker?.close();
    await server?.stop();
  });

  const emit = () =>
    stack.producer.emit(CommentCreated.name, "thread:live", {
      comment: { id: `l${++n}`, threadId: "live", author: "di", text: `live ${n}`, createdAt: n },
    });

  const api = (path: string, init: RequestInit = {}) => fetch(`${stack.edge!.url}${path}`, init);
  const auth = { authorization: `Bearer ${TOKEN}` };

  it("refuses a missing or wrong admin token with REALER_ERR_ADMIN_UNAUTHORIZED", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: TOKEN }] as Record<
      string,
      string
    >[]) {
      const res = await api("/admin/api/overview", { headers });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { code: string }).code, "REALER_ERR_ADMIN_UNAUTHORIZED");
    }
    const ok = await api("/admin/api/overview", { headers: auth });
    assert.equal(ok.status, 200);
  });

  it("is off, with REALER_ERR_ADMIN_DISABLED, where no admin token is configured", async () => {
    const app = fastify();
    installErrorHandler(app);
    const cfg = testConfig();
    await app.register(
      adminRoutes({ broker, cfg, log: createLogger({ level: "silent" }), domain: loadDomain() }),
    );
    try {
      const res = await app.inject({
        url: "/admin/api/overview",
        headers: { authorization: "Bearer anything" },
      });
      assert.equal(res.statusCode, 403);
      assert.equal(res.json().code, "REALER_ERR_ADMIN_DISABLED");
    } finally {
      await app.close();
    }
  });

  it("answers bad replay requests with coded 4xx errors and dry-runs good ones", async () => {
    await emit();
    await waitFor(async () => (await broker.streamState(stack.cfg.streams.channels.name)).lastSeq >= 1, {
      what: "one channel message",
    });
    const post = (body: unknown) =>
      api("/admin/api/replay", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const out = await post({ fromSeq: 1, toSeq: 500 });
    assert.equal(out.status, 400);
    const err = (await out.json()) as { code: string; message: string };
    assert.equal(err.code, "REALER_ERR_REPLAY_RANGE");
    assert.match(err.message, /1\.\.500 is outside/);
    const bad = await post({ fromSeq: "first" });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, "REALER_ERR_BAD_REQUEST");
    const unknown = await api("/admin/api/replays/rnope", { headers: auth });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, "REALER_ERR_REPLAY_NOT_FOUND");
    const started = await post({ fromSeq: 1, toSeq: 1, rate: 0 });
    assert.equal(started.status, 202);
    const { id } = (await started.json()) as { id: string };
    const done = await waitFor(
      async () => {
        const cp = (await (await api(`/admin/api/replays/${id}`, { headers: auth })).json()) as {
          status: string;
          counts: { published: number };
        };
        return cp.status === "done" ? cp : undefined;
      },
      { what: "the replay started over the API to finish" },
    );
    assert.equal(done.counts.published, 1);
    const dry = await post({ fromSeq: 1, toSeq: 1, dryRun: true });
    assert.equal(dry.status, 200);
    assert.equal(((await dry.json()) as { unchanged: number }).unchanged, 1);
  });

  it("in Chromium shows numbers that change while events flow", async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${stack.edge!.url}/admin`);
      await page.fill("#token", "wrong");
      await page.click("button[type=submit]");
      await page.waitForSelector("#error:not([hidden])");
      assert.match((await page.textContent("#error"))!, /REALER_ERR_ADMIN_UNAUTHORIZED/);

      await page.fill("#token", TOKEN);
      await page.click("button[type=submit]");
      await page.waitForSelector("#dash:not([hidden])");
      await page.waitForFunction(`/^\\d+$/.test(document.getElementById("acked").textContent)`);
      const first = Number(await page.textContent("#acked"));
      assert.equal(await page.textContent("#connections"), "1", "the SSE client of this test");

      let flowing = true;
      const flow = (async () => {
        while (flowing) {
          await emit();
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
      try {
        await page.waitForFunction(
          `Number(document.getElementById("acked").textContent) >= ${first + 20}`,
          undefined,
          {
            timeout: 30_000,
          },
        );
        await page.waitForFunction(`Number(document.getElementById("rate").textContent) > 0`, undefined, {
          timeout: 30_000,
        });
        await page.waitForFunction(
          `Number(document.querySelector('#stages tr[data-stage="publish"] td:nth-child(3)')?.textContent) > 0`,
          undefined,
          { timeout: 30_000 },
        );
      } finally {
        flowing = false;
        await flow;
      }
      const later = Number(await page.textContent("#acked"));
      assert.ok(later > first, `processed count moved from ${first} to ${later}`);
      assert.ok((await page.locator("#chart-rate polyline").count()) === 1, "the rate chart is drawn");
      await page.waitForFunction(`document.getElementById("balance").textContent === "0"`, undefined, {
        timeout: 30_000,
      });
      assert.equal(await page.textContent("#dead"), "0");
    } finally {
      await page.close();
    }
  });
});
